package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
	"github.com/fiveaxis/fiveaxis/prompts"
)

// maxBodyChars caps the PR body sent with every request.
const maxBodyChars = 4000

// maxComments and maxCommentChars cap the PR comments sent with every
// request: the most recent maxComments, and of those the most recent that
// fit in maxCommentChars together. The forge caps them too; this keeps the
// request bounded whatever the caller passes.
const (
	maxComments     = 20
	maxCommentChars = 8000
)

// recentComments returns the most recent comments of cs (oldest first)
// within maxComments and maxCommentChars; a too-long most recent comment is
// cut.
func recentComments(cs []string) []string {
	if len(cs) > maxComments {
		cs = cs[len(cs)-maxComments:]
	}
	total, start := 0, len(cs)
	for i := len(cs) - 1; i >= 0; i-- {
		if total+len(cs[i]) > maxCommentChars {
			break
		}
		total += len(cs[i])
		start = i
	}
	if start == len(cs) && len(cs) > 0 {
		last, cut := cs[len(cs)-1], maxCommentChars
		for cut > 0 && !utf8.RuneStart(last[cut]) {
			cut--
		}
		return []string{last[:cut] + "\n[the rest of the comment was cut]"}
	}
	return cs[start:]
}

// chunk is the unit of caching: one hunk, or one part of a hunk too large
// for a request. Its hash (path, status and the redacted, numbered hunk)
// keys the cache, so a push that leaves a hunk alone leaves its hash alone.
type chunk struct {
	path   string
	status string
	text   string // redacted, formatted with prompts.FormatHunk
	rng    [2]int // new-side line range
	tokens int
	churn  int
	hash   string
}

// part is the chunks of one file sent in one request.
type part struct {
	path, status, note string
	chunks             []*chunk
}

func (p *part) file() prompts.File {
	texts := make([]string, len(p.chunks))
	for i, c := range p.chunks {
		texts[i] = c.text
	}
	return prompts.File{Path: p.path, Status: p.status, Note: p.note, Diff: strings.Join(texts, "\n")}
}

// cached is a chunk whose findings come from the cache.
type cached struct {
	chunk    *chunk
	findings []ModelFinding
}

// axisWork is one axis's share of a plan.
type axisWork struct {
	cached  []cached
	batches [][]*part
	hits    int
}

// plan is the model work of one review, made once and shared by the axis
// checkers.
type plan struct {
	once     sync.Once
	err      error
	deadline time.Time
	pr       prompts.PR
	work     map[axes.Axis]*axisWork
	spent    atomic.Int64 // input tokens sent
	budget   int          // the whole budget, including the repair reserve
	coverage string
}

// tokens counts the tokens of s.
func (r *Reviewer) tokens(s string) int {
	n, err := r.codec.Count(s)
	if err != nil {
		return len(s)/3 + 1 // a safe overestimate
	}
	return n
}

// messageTokens counts a chat request's input tokens: content plus the
// per-message framing OpenAI documents (about 4 tokens a message, 3 a reply).
func (r *Reviewer) messageTokens(msgs []prompts.Message) int {
	n := 3
	for _, m := range msgs {
		n += 4 + r.tokens(m.Content)
	}
	return n
}

// requestTokens counts the input tokens of msgs sent at response-format
// level: the messages, plus the findings schema when the request carries
// it, since servers bill it as input too.
func (r *Reviewer) requestTokens(msgs []prompts.Message, level int32) int {
	n := r.messageTokens(msgs)
	if level == formatSchema {
		n += r.schemaTokens
	}
	return n
}

// countSchemaTokens estimates what a response_format schema adds to a
// request's input tokens. OpenAI does not document it; measured against its
// API, it is the tokens of the schema's JSON without the "required" and
// "additionalProperties" keywords, plus 9.
func countSchemaTokens(count func(string) int, schema json.RawMessage) int {
	var v any
	if err := json.Unmarshal(schema, &v); err != nil {
		return count(string(schema))
	}
	var strip func(any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "required")
			delete(v, "additionalProperties")
			for _, e := range v {
				strip(e)
			}
		case []any:
			for _, e := range v {
				strip(e)
			}
		}
	}
	strip(v)
	b, err := json.Marshal(v)
	if err != nil {
		return count(string(schema))
	}
	return count(string(b)) + 9
}

func cacheKey(model string, axis axes.Axis, hash string) string {
	h := sha256.Sum256([]byte(prompts.Version + "\x00" + model + "\x00" + string(axis) + "\x00" + hash))
	return hex.EncodeToString(h[:])
}

// build makes the plan: redaction, chunking, ranking, cache lookups and the
// budget. prior is the rules' findings (axes.Pass.Prior), which rank the
// files: every checker of a run sees the same prior, so it does not matter
// which one builds the plan.
func (p *plan) build(ctx context.Context, r *Reviewer, in *axes.Input, prior []axes.Finding) {
	p.deadline = time.Now().Add(r.cfg.ReviewTimeout)
	p.budget = r.cfg.Budget
	p.work = map[axes.Axis]*axisWork{}
	for _, a := range axes.All {
		p.work[a] = &axisWork{}
	}
	body := in.PR.Body
	if len(body) > maxBodyChars {
		body = body[:maxBodyChars] + "\n[the rest of the body was cut]"
	}
	title, _ := r.redactor.Redact(in.PR.Title)
	body, _ = r.redactor.Redact(body)
	// Comments are redacted before they are capped, so that a cut never
	// leaves part of a secret the redactor no longer recognizes.
	var comments []string
	for _, c := range in.PR.Comments {
		if strings.TrimSpace(c) == "" {
			continue
		}
		c, _ = r.redactor.Redact(c)
		comments = append(comments, c)
	}
	p.pr = prompts.PR{Title: title, Body: body, Comments: recentComments(comments)}

	// The fixed cost of a request: the prompts with no files, at whichever
	// response-format level costs more, since the server may step down
	// during the review.
	overhead := map[axes.Axis]int{}
	maxOverhead := 0
	for _, a := range axes.All {
		for _, level := range []int32{formatSchema, formatJSONObject} {
			msgs, err := prompts.Render(prompts.Request{Axis: string(a), PR: p.pr, Schema: level == formatSchema})
			if err != nil {
				p.err = err
				return
			}
			overhead[a] = max(overhead[a], r.requestTokens(msgs, level))
		}
		maxOverhead = max(maxOverhead, overhead[a])
	}
	maxChunk := max(r.cfg.MaxRequestTokens-maxOverhead, 256)

	type fileUnit struct {
		chunks []*chunk
		found  int // weight of the rules' findings on the file
		risk   float64
	}
	found := findingWeights(prior)
	var files []*fileUnit
	total, withheld := 0, 0
	if in.Diff != nil {
		for _, fd := range in.Diff.Files {
			if fd.NewPath == "" || fd.Binary || len(fd.Added) == 0 {
				continue
			}
			total++
			if IsEnvFile(fd.NewPath) || neverSend(fd.NewPath, r.cfg.NeverSend) {
				withheld++
				continue
			}
			u := &fileUnit{chunks: r.chunkFile(fd, maxChunk)}
			churn := 0
			for _, c := range u.chunks {
				churn += c.churn
			}
			u.found = found[fd.NewPath]
			u.risk = fileRisk(fd.NewPath) * math.Log2(2+float64(churn))
			files = append(files, u)
		}
	}
	// Files where the rules found something first, the more and the more
	// severe findings the earlier; then by risk (file kind and churn); ties
	// keep diff order.
	sort.SliceStable(files, func(i, j int) bool {
		if files[i].found != files[j].found {
			return files[i].found > files[j].found
		}
		return files[i].risk > files[j].risk
	})

	// Files are taken whole, riskiest first: the chunks of a file that have
	// no cached result go to every axis lacking one, or the file is left to
	// the rules. Requests are filled up to MaxRequestTokens; 10% of the
	// budget is kept for repair prompts.
	planBudget := p.budget - p.budget/10
	open := map[axes.Axis]int{} // tokens in each axis's open request
	planned, reviewed := 0, 0
	for _, u := range files {
		missing := map[axes.Axis][]*chunk{}
		covered := true
		for _, c := range u.chunks {
			hits := map[axes.Axis][]ModelFinding{}
			var miss []axes.Axis
			deferred := false
			for _, a := range axes.All {
				e, ok, err := r.store.Get(ctx, cacheKey(r.cfg.Model, a, c.hash))
				if err != nil {
					r.log.Warn("llm cache get", "err", err)
				}
				switch {
				case ok && e.Deferred:
					deferred = true
				case ok:
					hits[a] = e.Findings
				default:
					miss = append(miss, a)
				}
			}
			for a, fs := range hits {
				p.work[a].cached = append(p.work[a].cached, cached{c, fs})
				p.work[a].hits++
			}
			if deferred {
				covered = false // left out earlier; not sent again until it changes
				continue
			}
			for _, a := range miss {
				missing[a] = append(missing[a], c)
			}
		}
		// Group each axis's missing chunks into parts and price them.
		parts := map[axes.Axis][]*part{}
		cost := 0
		sim := map[axes.Axis]int{}
		for a, cs := range missing {
			parts[a] = groupParts(cs, maxChunk, r.tokens)
			sim[a] = open[a]
			for _, pt := range parts[a] {
				t := partTokens(pt, r.tokens)
				if sim[a] == 0 || sim[a]+t > r.cfg.MaxRequestTokens {
					cost += overhead[a]
					sim[a] = overhead[a]
				}
				sim[a] += t
				cost += t
			}
		}
		if planned+cost > planBudget {
			for a, cs := range missing {
				for _, c := range cs {
					if err := r.store.Put(ctx, cacheKey(r.cfg.Model, a, c.hash), Entry{Deferred: true}); err != nil {
						r.log.Warn("llm cache put", "err", err)
					}
				}
			}
			continue
		}
		planned += cost
		for _, a := range axes.All {
			w := p.work[a]
			for _, pt := range parts[a] {
				t := partTokens(pt, r.tokens)
				if open[a] == 0 || open[a]+t > r.cfg.MaxRequestTokens {
					w.batches = append(w.batches, nil)
					open[a] = overhead[a]
				}
				w.batches[len(w.batches)-1] = append(w.batches[len(w.batches)-1], pt)
				open[a] += t
			}
		}
		if covered {
			reviewed++
		}
	}

	hitsTotal := 0
	for _, w := range p.work {
		hitsTotal += w.hits
	}
	var b strings.Builder
	if reviewed == total {
		fmt.Fprintf(&b, "LLM reviewed all %d files, %s input tokens planned", total, thousands(planned))
	} else {
		fmt.Fprintf(&b, "LLM reviewed %d of %d files, %s input tokens planned", reviewed, total, thousands(planned))
	}
	if hitsTotal > 0 {
		fmt.Fprintf(&b, " (plus %d cached results)", hitsTotal)
	}
	if reviewed < total {
		b.WriteString("; the rest were checked by rules only")
	}
	b.WriteString(".")
	if withheld > 0 {
		fmt.Fprintf(&b, " %d files were withheld from the model (.env or never-send globs).", withheld)
	}
	fmt.Fprintf(&b, " Budget %s input tokens, model %s.", thousands(p.budget), r.cfg.Model)
	p.coverage = b.String()
}

// chunkFile formats and redacts a file's hunks, one chunk per hunk; a hunk
// larger than maxTokens is cut into parts at line boundaries, each
// repeating the hunk header.
func (r *Reviewer) chunkFile(fd *gitops.FileDiff, maxTokens int) []*chunk {
	var out []*chunk
	add := func(text string, tokens int, rng [2]int, churn int) {
		sum := sha256.Sum256([]byte(fd.NewPath + "\x00" + string(fd.Status) + "\x00" + text))
		out = append(out, &chunk{path: fd.NewPath, status: string(fd.Status), text: text, rng: rng, tokens: tokens, churn: churn, hash: hex.EncodeToString(sum[:])})
	}
	for _, h := range fd.Hunks {
		text := prompts.FormatHunk(prompts.Hunk{OldStart: h.OldStart, OldLines: h.OldLines, NewStart: h.NewStart, NewLines: h.NewLines, Section: h.Section, Body: h.Body})
		text, _ = r.redactor.Redact(text)
		rng := [2]int{h.NewStart, h.NewStart + max(h.NewLines, 1) - 1}
		churn := 0
		for _, l := range strings.Split(h.Body, "\n") {
			if strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-") {
				churn++
			}
		}
		n := r.tokens(text) + 1
		if n <= maxTokens {
			add(text, n, rng, churn)
			continue
		}
		lines := strings.Split(text, "\n")
		header := lines[0] + " (continued)"
		cur, curTokens := []string{lines[0]}, r.tokens(lines[0])+1
		for _, l := range lines[1:] {
			lt := r.tokens(l) + 1
			if curTokens+lt > maxTokens && len(cur) > 1 {
				add(strings.Join(cur, "\n"), curTokens, rng, churn)
				cur, curTokens = []string{header}, r.tokens(header)+1
			}
			if lt > maxTokens {
				l = strings.ToValidUTF8(l[:min(len(l), maxTokens)], "") + " [line cut]"
				lt = r.tokens(l) + 1
			}
			cur = append(cur, l)
			curTokens += lt
		}
		add(strings.Join(cur, "\n"), curTokens, rng, churn)
	}
	return out
}

// partHeaderTokens bounds the tokens of a part's "FILE path (status)" line.
func partHeaderTokens(path string, count func(string) int) int {
	return count(fmt.Sprintf("\nFILE %s (modified) [part 10 of 10]\n", path))
}

// groupParts packs one file's chunks, in order, into parts of at most
// maxTokens tokens.
func groupParts(cs []*chunk, maxTokens int, count func(string) int) []*part {
	if len(cs) == 0 {
		return nil
	}
	head := partHeaderTokens(cs[0].path, count)
	var out []*part
	size := 0
	for _, c := range cs {
		if len(out) == 0 || size+c.tokens+head > maxTokens {
			out = append(out, &part{path: c.path, status: c.status})
			size = 0
		}
		last := out[len(out)-1]
		last.chunks = append(last.chunks, c)
		size += c.tokens
	}
	if len(out) > 1 {
		for i, pt := range out {
			pt.note = fmt.Sprintf("part %d of %d", i+1, len(out))
		}
	}
	return out
}

// partTokens is the planned token cost of a part.
func partTokens(pt *part, count func(string) int) int {
	n := partHeaderTokens(pt.path, count)
	for _, c := range pt.chunks {
		n += c.tokens
	}
	return n
}

// findingWeights sums, per path, the weights of the rules' findings: error
// 16, warning 4, info 1, so that one error outweighs a few warnings. Model
// findings and PR-level findings (no path) do not count.
func findingWeights(prior []axes.Finding) map[string]int {
	out := map[string]int{}
	for _, f := range prior {
		if f.Path == "" || f.Source == axes.SourceLLM {
			continue
		}
		switch f.Severity {
		case axes.SeverityError:
			out[f.Path] += 16
		case axes.SeverityWarning:
			out[f.Path] += 4
		default:
			out[f.Path]++
		}
	}
	return out
}

var sensitiveWords = []string{"auth", "login", "passw", "secret", "token", "crypt", "session", "permission", "acl", "admin",
	"sql", "migration", "payment", "billing", "exec", "shell", "upload", "sanitiz", "csrf", "oauth", "jwt", "cred", "key", "cert", "tls", "webhook"}

// fileRisk weighs a path: source code over configuration over prose, tests
// and generated or vendored files last, and security-sensitive names double.
func fileRisk(p string) float64 {
	lower := strings.ToLower(p)
	base := path.Base(lower)
	ext := path.Ext(base)
	w := 0.4
	switch {
	case base == "go.sum" || base == "package-lock.json" || base == "yarn.lock" || base == "pnpm-lock.yaml" || base == "cargo.lock" ||
		strings.HasSuffix(base, ".pb.go") || strings.HasSuffix(base, ".min.js") ||
		strings.HasPrefix(lower, "vendor/") || strings.Contains(lower, "/vendor/") || strings.Contains(lower, "testdata/"):
		w = 0.05
	case strings.Contains(".go.py.js.ts.tsx.jsx.java.kt.rs.c.cc.cpp.h.hpp.cs.rb.php.swift.scala.sh.bash.sql.", ext+".") && ext != "":
		w = 1
	case strings.Contains(".yml.yaml.json.toml.tf.ini.xml.conf.cfg.", ext+".") && ext != "", base == "dockerfile", base == "makefile", base == "go.mod":
		w = 0.6
	case strings.Contains(".md.txt.rst.adoc.", ext+".") && ext != "":
		w = 0.2
	}
	if strings.HasSuffix(base, "_test.go") || strings.HasPrefix(base, "test_") || strings.Contains(base, ".test.") || strings.Contains(base, ".spec.") ||
		strings.HasPrefix(lower, "test/") || strings.HasPrefix(lower, "tests/") || strings.Contains(lower, "/test/") || strings.Contains(lower, "/tests/") {
		w *= 0.5
	}
	for _, s := range sensitiveWords {
		if strings.Contains(lower, s) {
			w *= 2
			break
		}
	}
	return w
}

func neverSend(p string, globs []string) bool {
	for _, g := range globs {
		if axes.MatchPath(g, p) {
			return true
		}
	}
	return false
}

// thousands formats n with comma separators: 38000 → "38,000".
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
