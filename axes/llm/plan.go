package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
	"github.com/fiveaxis/fiveaxis/prompts"
)

// maxBodyChars caps the PR body sent with every request.
const maxBodyChars = 4000

// chunk is a piece of the diff reviewed as a unit: a whole file, or some of
// its hunks when the file is large. Its hash keys the cache.
type chunk struct {
	file   prompts.File // redacted, formatted
	path   string
	ranges [][2]int // new-side line ranges of its hunks
	tokens int
	risk   float64
	order  int // position in diff order, for stable ranking
	hash   string
}

// contains reports whether line falls inside one of the chunk's hunks.
func (c *chunk) contains(line int) bool {
	for _, r := range c.ranges {
		if line >= r[0] && line <= r[1] {
			return true
		}
	}
	return false
}

// cached is a chunk whose findings come from the cache.
type cached struct {
	chunk    *chunk
	findings []ModelFinding
}

// axisWork is one axis's share of a plan.
type axisWork struct {
	cached  []cached
	batches [][]*chunk
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

func cacheKey(model string, axis axes.Axis, hash string) string {
	h := sha256.Sum256([]byte(prompts.Version + "\x00" + model + "\x00" + string(axis) + "\x00" + hash))
	return hex.EncodeToString(h[:])
}

// build makes the plan: redaction, chunking, ranking, cache lookups and the
// budget. It reports the coverage note through note.
func (p *plan) build(ctx context.Context, r *Reviewer, in *axes.Input) {
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
	p.pr = prompts.PR{Title: title, Body: body}

	// The fixed cost of a request: the prompts with no files.
	overhead := map[axes.Axis]int{}
	maxOverhead := 0
	for _, a := range axes.All {
		msgs, err := prompts.Render(prompts.Request{Axis: string(a), PR: p.pr})
		if err != nil {
			p.err = err
			return
		}
		overhead[a] = r.messageTokens(msgs)
		maxOverhead = max(maxOverhead, overhead[a])
	}
	maxChunk := max(r.cfg.MaxRequestTokens-maxOverhead, 256)

	var chunks []*chunk
	total, withheld := 0, 0
	fileChunks := map[string][]*chunk{}
	if in.Diff != nil {
		for i, fd := range in.Diff.Files {
			if fd.NewPath == "" || fd.Binary || len(fd.Added) == 0 {
				continue
			}
			total++
			if IsEnvFile(fd.NewPath) || neverSend(fd.NewPath, r.cfg.NeverSend) {
				withheld++
				continue
			}
			cs := r.chunkFile(fd, maxChunk)
			for _, c := range cs {
				c.order = i
			}
			fileChunks[fd.NewPath] = cs
			chunks = append(chunks, cs...)
		}
	}
	sort.SliceStable(chunks, func(i, j int) bool {
		if chunks[i].risk != chunks[j].risk {
			return chunks[i].risk > chunks[j].risk
		}
		return chunks[i].order < chunks[j].order
	})

	// Greedy packing, riskiest first: a chunk goes to every axis that has no
	// cached result for it, or to none. Requests are filled up to
	// MaxRequestTokens; 10% of the budget is kept for repair prompts.
	planBudget := p.budget - p.budget/10
	type open struct{ tokens int }
	cur := map[axes.Axis]*open{}
	for _, a := range axes.All {
		cur[a] = &open{}
	}
	covered := map[*chunk]bool{}
	planned := 0
	for _, c := range chunks {
		var missing []axes.Axis
		hits := map[axes.Axis][]ModelFinding{}
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
				missing = append(missing, a)
			}
		}
		if deferred {
			continue
		}
		cost := 0
		for _, a := range missing {
			if cur[a].tokens == 0 || cur[a].tokens+c.tokens > r.cfg.MaxRequestTokens {
				cost += overhead[a]
			}
			cost += c.tokens
		}
		if planned+cost > planBudget {
			for _, a := range missing {
				if err := r.store.Put(ctx, cacheKey(r.cfg.Model, a, c.hash), Entry{Deferred: true}); err != nil {
					r.log.Warn("llm cache put", "err", err)
				}
			}
			continue
		}
		planned += cost
		covered[c] = true
		for a, fs := range hits {
			p.work[a].cached = append(p.work[a].cached, cached{c, fs})
			p.work[a].hits++
		}
		for _, a := range missing {
			w := p.work[a]
			if cur[a].tokens == 0 || cur[a].tokens+c.tokens > r.cfg.MaxRequestTokens {
				w.batches = append(w.batches, nil)
				cur[a].tokens = overhead[a]
			}
			w.batches[len(w.batches)-1] = append(w.batches[len(w.batches)-1], c)
			cur[a].tokens += c.tokens
		}
	}

	reviewed := 0
	for _, cs := range fileChunks {
		all := true
		for _, c := range cs {
			all = all && covered[c]
		}
		if all {
			reviewed++
		}
	}
	hitsTotal := 0
	for _, w := range p.work {
		hitsTotal += w.hits
	}
	var b strings.Builder
	if reviewed == total {
		fmt.Fprintf(&b, "LLM reviewed all %d files, %s tokens", total, thousands(planned))
	} else {
		fmt.Fprintf(&b, "LLM reviewed %d of %d files, %s tokens", reviewed, total, thousands(planned))
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

func contains(as []axes.Axis, a axes.Axis) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}

// chunkFile formats and redacts a file's hunks and cuts them into chunks of
// at most maxTokens tokens: the whole file when it fits, else groups of
// hunks, and a hunk too large on its own is cut into parts at line
// boundaries.
func (r *Reviewer) chunkFile(fd *gitops.FileDiff, maxTokens int) []*chunk {
	type piece struct {
		text   string
		tokens int
		rng    [2]int
		churn  int
	}
	var pieces []piece
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
			pieces = append(pieces, piece{text, n, rng, churn})
			continue
		}
		// Cut the hunk at line boundaries; each part repeats the header.
		lines := strings.Split(text, "\n")
		header := lines[0] + " (continued)"
		cur, curTokens := []string{lines[0]}, r.tokens(lines[0])+1
		for _, l := range lines[1:] {
			lt := r.tokens(l) + 1
			if curTokens+lt > maxTokens && len(cur) > 1 {
				pieces = append(pieces, piece{strings.Join(cur, "\n"), curTokens, rng, churn})
				cur, curTokens = []string{header}, r.tokens(header)+1
			}
			if lt > maxTokens {
				l = l[:min(len(l), maxTokens)] + " [line cut]"
				lt = r.tokens(l) + 1
			}
			cur = append(cur, l)
			curTokens += lt
		}
		pieces = append(pieces, piece{strings.Join(cur, "\n"), curTokens, rng, churn})
	}
	status := string(fd.Status)
	headerTokens := r.tokens(fmt.Sprintf("FILE %s (%s) [part 10 of 10]\n", fd.NewPath, status))
	var groups [][]piece
	size := 0
	for _, pc := range pieces {
		if len(groups) == 0 || size+pc.tokens+headerTokens > maxTokens {
			groups = append(groups, nil)
			size = 0
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], pc)
		size += pc.tokens
	}
	base := fileRisk(fd.NewPath)
	out := make([]*chunk, 0, len(groups))
	for i, g := range groups {
		c := &chunk{path: fd.NewPath}
		texts := make([]string, len(g))
		churn := 0
		for j, pc := range g {
			texts[j] = pc.text
			c.ranges = append(c.ranges, pc.rng)
			churn += pc.churn
			c.tokens += pc.tokens
		}
		c.tokens += headerTokens
		c.file = prompts.File{Path: fd.NewPath, Status: status, Diff: strings.Join(texts, "\n")}
		if len(groups) > 1 {
			c.file.Note = fmt.Sprintf("part %d of %d", i+1, len(groups))
		}
		c.risk = base * math.Log2(2+float64(churn))
		sum := sha256.Sum256([]byte(c.file.Path + "\x00" + c.file.Status + "\x00" + c.file.Diff))
		c.hash = hex.EncodeToString(sum[:])
		out = append(out, c)
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
