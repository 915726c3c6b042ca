package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/prompts"
)

const fetchBase = `package fetch

import "net/http"

// Fetch gets url.
func Fetch(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
`

const fetchHead = `package fetch

import "net/http"

// Fetch gets url, retrying three times.
func Fetch(url string) error {
	var err error
	for i := 0; i <= 3; i++ {
		var resp *http.Response
		resp, err = http.Get(url)
		if err == nil {
			return resp.Body.Close()
		}
	}
	return err
}
`

func TestRequestShape(t *testing.T) {
	var usageIn, usageOut, usageCalls atomic.Int64
	onUsage := func(model string, in, out int) {
		if model == "test-model" {
			usageIn.Add(int64(in))
			usageOut.Add(int64(out))
			usageCalls.Add(1)
		}
	}
	b := setup(t, Config{OnUsage: onUsage}, func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool) {
		if req.axis() == "correctness" {
			return `{"findings":[{"rule":"off-by-one","severity":"error","path":"fetch/fetch.go","line":8,"end_line":8,"message":"The loop runs four times, not three.","confidence":"high"},` +
				`{"rule":"bogus","severity":"warning","path":"nope/missing.go","line":1,"end_line":1,"message":"Unknown path.","confidence":"high"},` +
				`{"rule":"unsure","severity":"warning","path":"fetch/fetch.go","line":9,"end_line":9,"message":"Maybe.","confidence":"low"},` +
				`{"rule":"context","severity":"warning","path":"fetch/fetch.go","line":3,"end_line":3,"message":"Import is fine.","confidence":"medium"}]}`, true
		}
		return `{"findings":[]}`, true
	})
	in := build(t, map[string]string{"fetch/fetch.go": fetchBase}, map[string]string{"fetch/fetch.go": fetchHead})
	res := run(t, in, b.rv.Checkers(), 0)

	reqs := b.fake.requests()
	if len(reqs) != 5 {
		t.Fatalf("want one request per axis, got %d", len(reqs))
	}
	seen := map[string]bool{}
	for _, req := range reqs {
		seen[req.axis()] = true
		if req.Model != "test-model" {
			t.Errorf("model = %q", req.Model)
		}
		if req.ResponseFormat == nil || req.ResponseFormat.Type != "json_schema" || req.ResponseFormat.JSONSchema == nil ||
			req.ResponseFormat.JSONSchema.Name != prompts.SchemaName || !req.ResponseFormat.JSONSchema.Strict {
			t.Fatalf("response_format = %+v, want a strict json_schema", req.ResponseFormat)
		}
		var schema, want any
		json.Unmarshal(req.ResponseFormat.JSONSchema.Schema, &schema)
		json.Unmarshal(prompts.Schema(), &want)
		if fmt.Sprint(schema) != fmt.Sprint(want) {
			t.Errorf("schema sent = %v", schema)
		}
		if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
			t.Fatalf("messages = %+v", req.Messages)
		}
		want2, _ := prompts.Render(prompts.Request{Axis: req.axis(), PR: prompts.PR{}, Files: []prompts.File{{Path: "fetch/fetch.go", Status: "modified", Diff: diffOf(req.user())}}, Schema: true})
		if req.system() != want2[0].Content {
			t.Errorf("%s: system prompt is not the axis prompt for a request with the schema:\n%s", req.axis(), req.system())
		}
		if !strings.Contains(req.user(), "FILE fetch/fetch.go (modified)") || !strings.Contains(req.user(), "    8 + \tfor i := 0; i <= 3; i++ {") {
			t.Errorf("user message lacks the numbered diff:\n%s", req.user())
		}
	}
	if len(seen) != 5 {
		t.Errorf("axes seen: %v", seen)
	}
	// The fake server reports 1 prompt and 1 completion token per answer.
	if usageCalls.Load() != 5 || usageIn.Load() != 5 || usageOut.Load() != 5 {
		t.Errorf("OnUsage saw %d calls, %d/%d tokens; want 5 calls of 1/1", usageCalls.Load(), usageIn.Load(), usageOut.Load())
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, fmt.Sprintf("%s:%d %s %s %s", f.Path, f.Line, f.Rule, f.Severity, f.Source))
	}
	if strings.Join(got, "\n") != "fetch/fetch.go:8 correctness/llm warning llm" {
		t.Errorf("findings = %v, want the one high-confidence finding, capped at warning", got)
	}
	if n := noteWith(res, "not on a changed line, fetch/fetch.go:3"); n == "" {
		t.Errorf("finding on a context line did not move to a note: %v", res.Notes)
	}
	if n := noteWith(res, "LLM reviewed all 1 files"); n == "" {
		t.Errorf("no coverage note: %v", res.Notes)
	}
	if n := noteWith(res, "LLM correctness: 1 requests"); n == "" || !strings.Contains(n, "cache hits") {
		t.Errorf("no usage note: %v", res.Notes)
	}
}

// diffOf extracts the formatted diff of the first file from a user message.
func diffOf(user string) string {
	i := strings.Index(user, "FILE fetch/fetch.go (modified)\n")
	rest := user[i+len("FILE fetch/fetch.go (modified)\n"):]
	j := strings.Index(rest, "\n</diff ")
	return rest[:j]
}

// The findings schema is charged as input when a request carries it: its
// JSON without "required" and "additionalProperties", plus 9.
func TestSchemaTokens(t *testing.T) {
	b := setup(t, Config{}, empty)
	full := b.rv.tokens(string(prompts.Schema()))
	if b.rv.schemaTokens < 40 || b.rv.schemaTokens >= full {
		t.Errorf("schema tokens = %d, want between 40 and the full schema's %d", b.rv.schemaTokens, full)
	}
	in := build(t, map[string]string{"fetch/fetch.go": fetchBase}, map[string]string{"fetch/fetch.go": fetchHead})
	res := run(t, in, only(b.rv.Checkers(), "security/llm"), 0)
	req := b.fake.requests()[0]
	want := b.rv.messageTokens([]prompts.Message{{Role: "system", Content: req.system()}, {Role: "user", Content: req.user()}}) + b.rv.schemaTokens
	if n := noteWith(res, "LLM security: 1 requests, "+thousands(want)+" tokens"); n == "" {
		t.Errorf("notes = %v, want 1 request of %d tokens", res.Notes, want)
	}
}

func TestOffByDefault(t *testing.T) {
	if Enabled(Config{}) || Enabled(Config{Model: "m"}) {
		t.Error("enabled without a key or URL")
	}
	if !Enabled(Config{APIKey: "k"}) || !Enabled(Config{BaseURL: "http://x"}) {
		t.Error("not enabled with a key or URL")
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New without key or URL must fail")
	}
	if _, err := New(Config{BaseURL: "http://localhost:11434/v1"}, nil); err == nil {
		t.Error("a custom URL without a model must fail")
	}
	if err := (Config{Azure: true, APIKey: "k", Model: "dep"}).Validate(); err == nil {
		t.Error("Azure without an endpoint must fail")
	}
}

func genFiles(n int, variant string) (base, head map[string]string) {
	base, head = map[string]string{}, map[string]string{}
	for i := range n {
		p := fmt.Sprintf("pkg/p%03d/file%03d.go", i, i)
		if i == n-1 {
			p = "internal/auth/token.go" // security-sensitive: must rank first
		}
		if i == n-2 {
			p = "docs/notes.md"
		}
		base[p] = fmt.Sprintf("package p%03d\n\nfunc F%d() int { return %d }\n", i, i, i)
		var b strings.Builder
		fmt.Fprintf(&b, "package p%03d\n\nfunc F%d() int { return %d }\n", i, i, i)
		for j := range 12 {
			fmt.Fprintf(&b, "\n// G%d_%d adds %s.\nfunc G%d_%d(x int) int { return x*%d + %d }\n", i, j, variant, i, j, j, i)
		}
		head[p] = b.String()
	}
	return base, head
}

func TestChunking300FilesWithinBudget(t *testing.T) {
	const budget = 30000
	b := setup(t, Config{Budget: budget, MaxRequestTokens: 4000}, empty)
	base, head := genFiles(300, "v1")
	in := build(t, base, head)
	res := run(t, in, b.rv.Checkers(), 0)

	sent := 0
	files := map[string]bool{}
	fileRe := regexp.MustCompile(`(?m)^FILE (\S+) `)
	for _, req := range b.fake.requests() {
		msgs := []prompts.Message{}
		for _, m := range req.Messages {
			msgs = append(msgs, prompts.Message{Role: m.Role, Content: m.Content})
		}
		n := b.rv.messageTokens(msgs)
		if n > 4000 {
			t.Errorf("request of %d tokens exceeds MaxRequestTokens", n)
		}
		sent += n
		for _, m := range fileRe.FindAllStringSubmatch(req.user(), -1) {
			files[m[1]] = true
		}
	}
	if sent > budget {
		t.Errorf("sent %d tokens, budget %d", sent, budget)
	}
	if sent < budget/2 {
		t.Errorf("sent only %d tokens of %d: budget badly used", sent, budget)
	}
	if !files["internal/auth/token.go"] {
		t.Error("the security-sensitive file was not sent first")
	}
	if files["docs/notes.md"] {
		t.Error("prose was sent before code")
	}
	note := noteWith(res, "LLM reviewed ")
	want := fmt.Sprintf("LLM reviewed %d of 300 files, ", len(files))
	if !strings.HasPrefix(note, want) || !strings.Contains(note, "; the rest were checked by rules only") {
		t.Errorf("coverage note = %q, want prefix %q", note, want)
	}
	if len(files) == 0 || len(files) == 300 {
		t.Errorf("files sent = %d, want a part of 300", len(files))
	}
	t.Logf("%s (%d tokens counted at the server)", note, sent)
}

func TestCacheOnRepush(t *testing.T) {
	b := setup(t, Config{}, func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool) {
		if req.axis() == "correctness" && strings.Contains(req.user(), "FILE fetch/fetch.go") {
			return `{"findings":[{"rule":"off-by-one","severity":"warning","path":"fetch/fetch.go","line":8,"end_line":8,"message":"Four iterations.","confidence":"high"}]}`, true
		}
		return `{"findings":[]}`, true
	})
	base := map[string]string{"fetch/fetch.go": fetchBase, "b/b.go": "package b\n"}
	head := map[string]string{"fetch/fetch.go": fetchHead, "b/b.go": "package b\n\nfunc B() {}\n"}
	first := run(t, build(t, base, head), b.rv.Checkers(), 0)
	n1 := len(b.fake.requests())
	if n1 == 0 || len(first.Findings) != 1 {
		t.Fatalf("first review: %d requests, findings %v", n1, first.Findings)
	}

	// The same head pushed again: no request, the finding from the cache.
	again := run(t, build(t, base, head), b.rv.Checkers(), 0)
	if n := len(b.fake.requests()); n != n1 {
		t.Errorf("unchanged re-push sent %d requests", n-n1)
	}
	if len(again.Findings) != 1 || again.Findings[0].Line != 8 {
		t.Errorf("cached findings = %v", again.Findings)
	}
	if n := noteWith(again, "LLM reviewed all 2 files, 0 input tokens planned (plus 10 cached results)"); n == "" {
		t.Errorf("coverage note: %v", again.Notes)
	}
	if n := noteWith(again, "LLM correctness: 0 requests, 0 tokens, 2 cache hits."); n == "" {
		t.Errorf("footer note: %v", again.Notes)
	}

	// One file changes: only that file is sent.
	head["b/b.go"] = "package b\n\nfunc B() { println(1) }\n"
	run(t, build(t, base, head), b.rv.Checkers(), 0)
	for _, req := range b.fake.requests()[n1:] {
		if strings.Contains(req.user(), "FILE fetch/fetch.go") {
			t.Errorf("unchanged file resent on a one-file push")
		}
		if !strings.Contains(req.user(), "FILE b/b.go") {
			t.Errorf("request without the changed file")
		}
	}
	if n := len(b.fake.requests()) - n1; n != 5 {
		t.Errorf("one-file push sent %d requests, want 5 (one per axis)", n)
	}
}

func TestMalformedOutput(t *testing.T) {
	good := `{"findings":[{"rule":"off-by-one","severity":"warning","path":"fetch/fetch.go","line":8,"end_line":8,"message":"Four iterations.","confidence":"high"}]}`
	tests := []struct {
		name         string
		replies      []string
		wantRequests int
		wantFindings int
		wantNote     string
	}{
		{"tolerant extraction", []string{"Sure! Here you go:\n```json\n" + good + "\n```\nHope it helps."}, 1, 1, "LLM correctness: 1 requests"},
		{"repair succeeds", []string{`{"findings": [{"rule": "off-by-one", line: 8`, good}, 2, 1, "LLM correctness: 2 requests"},
		{"repair fails", []string{"I think the code is fine", "still not json"}, 2, 0, "LLM unavailable for correctness (malformed output after a repair attempt); this axis was checked by rules only."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t, Config{}, func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool) {
				if n > 0 && !strings.Contains(req.user(), "meant to be a JSON object") {
					t.Errorf("request %d is not the repair prompt", n)
				}
				if n > 0 && strings.Contains(req.user(), "http.Get") {
					t.Errorf("the repair prompt resent the diff")
				}
				return tt.replies[min(n, len(tt.replies)-1)], true
			})
			in := build(t, map[string]string{"fetch/fetch.go": fetchBase}, map[string]string{"fetch/fetch.go": fetchHead})
			res := run(t, in, only(b.rv.Checkers(), "correctness/llm"), 0)
			if n := len(b.fake.requests()); n != tt.wantRequests {
				t.Errorf("requests = %d, want %d", n, tt.wantRequests)
			}
			if len(res.Findings) != tt.wantFindings {
				t.Errorf("findings = %v", res.Findings)
			}
			if noteWith(res, tt.wantNote) == "" {
				t.Errorf("notes = %v, want %q", res.Notes, tt.wantNote)
			}
		})
	}
}

func TestResponseFormatFallback(t *testing.T) {
	b := setup(t, Config{}, func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool) {
		if req.ResponseFormat != nil {
			writeError(w, http.StatusBadRequest, "response_format "+req.ResponseFormat.Type+" is not supported")
			return "", false
		}
		return "```json\n{\"findings\":[{\"rule\":\"x\",\"severity\":\"warning\",\"path\":\"fetch/fetch.go\",\"line\":\"8\",\"end_line\":\"8\",\"message\":\"m\",\"confidence\":\"medium\"}]}\n```", true
	})
	in := build(t, map[string]string{"fetch/fetch.go": fetchBase}, map[string]string{"fetch/fetch.go": fetchHead})
	res := run(t, in, only(b.rv.Checkers(), "correctness/llm"), 0)
	var kinds []string
	for _, req := range b.fake.requests() {
		k := "none"
		if req.ResponseFormat != nil {
			k = req.ResponseFormat.Type
		}
		kinds = append(kinds, k)
		// The reply's shape is spelled out only when no schema carries it.
		spelled := strings.Contains(req.system(), `{"findings":[{"rule":"kebab-case-id"`)
		if spelled != (k != "json_schema") {
			t.Errorf("%s request: system prompt spells out the reply shape = %v\n%s", k, spelled, req.system())
		}
	}
	if strings.Join(kinds, ",") != "json_schema,json_object,none" {
		t.Errorf("formats tried = %v", kinds)
	}
	if len(res.Findings) != 1 {
		t.Errorf("findings = %v", res.Findings)
	}
	// Only the accepted request is charged, without the schema it lacked.
	last := b.fake.requests()[2]
	want := b.rv.messageTokens([]prompts.Message{{Role: "system", Content: last.system()}, {Role: "user", Content: last.user()}})
	if n := noteWith(res, "LLM correctness: 1 requests, "+thousands(want)+" tokens"); n == "" {
		t.Errorf("notes = %v, want 1 request of %d tokens", res.Notes, want)
	}
	// The Reviewer remembers: the next review goes straight to text.
	run(t, build(t, map[string]string{"a.go": "package a\n"}, map[string]string{"a.go": "package a\n\nvar A = 1\n"}), only(b.rv.Checkers(), "security/llm"), 0)
	if reqs := b.fake.requests(); reqs[len(reqs)-1].ResponseFormat != nil || len(reqs) != 4 {
		t.Errorf("second review did not reuse the accepted format: %d requests", len(reqs))
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"429", http.StatusTooManyRequests},
		{"503", http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The backoff delay is an hour: only honouring Retry-After (1s)
			// lets the review finish.
			b := setup(t, Config{RetryDelay: time.Hour}, func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool) {
				if n == 0 {
					w.Header().Set("Retry-After", "1")
					writeError(w, tt.status, "slow down")
					return "", false
				}
				return `{"findings":[]}`, true
			})
			in := build(t, map[string]string{"fetch/fetch.go": fetchBase}, map[string]string{"fetch/fetch.go": fetchHead})
			res := run(t, in, only(b.rv.Checkers(), "correctness/llm"), 30*time.Second)
			if n := len(b.fake.requests()); n != 2 {
				t.Errorf("requests = %d, want 2", n)
			}
			if noteWith(res, "LLM correctness: 1 requests") == "" {
				t.Errorf("notes = %v", res.Notes)
			}
		})
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"Thu, 01 Jan 2026 00:00:10 GMT", 10 * time.Second, true},
		{"3600", 2 * time.Minute, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTimeoutIsANote(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		checker time.Duration
	}{
		{"request timeout", Config{RequestTimeout: 100 * time.Millisecond, MaxRetries: 1}, time.Minute},
		{"review timeout", Config{ReviewTimeout: 300 * time.Millisecond}, time.Minute},
		{"checker deadline", Config{}, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			b := setup(t, tt.cfg, func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool) {
				calls.Add(1)
				<-r.Context().Done() // a model that never answers
				return "", false
			})
			in := build(t, map[string]string{"fetch/fetch.go": fetchBase}, map[string]string{"fetch/fetch.go": fetchHead})
			cs := b.rv.Checkers()
			for _, c := range cs {
				if c.Timeout > tt.checker {
					// The checker's deadline comes before the model's own
					// review limit: it must still stop in time, with a note.
					c.Timeout = tt.checker
				}
			}
			res := run(t, in, append(cs, PromptInjection()), tt.checker) // fails on checker errors
			for _, a := range axes.All {
				if noteWith(res, fmt.Sprintf("LLM unavailable for %s (timeout)", a)) == "" {
					t.Errorf("no unavailable note for %s: %v", a, res.Notes)
				}
			}
			if calls.Load() == 0 {
				t.Error("no request reached the server")
			}
		})
	}
}

func TestSQLiteStore(t *testing.T) {
	s, err := OpenSQLiteStore(t.TempDir() + "/llm-cache.db")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, ok, err := s.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	want := Entry{Findings: []ModelFinding{{Rule: "r", Path: "a.go", Line: 3, Message: "m", Confidence: "high"}}}
	if err := s.Put(ctx, "k", want); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", want); err != nil { // replace
		t.Fatal(err)
	}
	got, ok, err := s.Get(ctx, "k")
	if err != nil || !ok || len(got.Findings) != 1 || got.Findings[0].Line != 3 {
		t.Fatalf("got %+v %v %v", got, ok, err)
	}
	if err := s.Put(ctx, "d", Entry{Deferred: true}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Get(ctx, "d"); !got.Deferred {
		t.Error("deferred marker lost")
	}
}

func TestPlanIsDroppedWithItsRun(t *testing.T) {
	b := setup(t, Config{}, empty)
	in := build(t, map[string]string{"a.go": "package a\n"}, map[string]string{"a.go": "package a\n\nvar A = 1\n"})
	run(t, in, b.rv.Checkers(), 0)
	deadline := time.Now().Add(5 * time.Second)
	for b.rv.pendingPlans() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := b.rv.pendingPlans(); n != 0 {
		t.Errorf("%d plans still held after the run", n)
	}
}
