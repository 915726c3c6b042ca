package llm

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/prompts"
)

// maxOffDiffNotes caps the notes of one axis for findings that are not on a
// changed line.
const maxOffDiffNotes = 5

// maxRepairChars caps the malformed output resent in a repair prompt.
const maxRepairChars = 8000

// errBudget is returned when a request would exceed the review's budget.
var errBudget = errors.New("token budget exhausted")

// axisRun collects one axis checker's outcome.
type axisRun struct {
	mu       sync.Mutex
	requests int
	failed   int
	tokens   int
	reason   string
	offDiff  []string
	dropped  int
}

func (a *axisRun) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failed++
	if a.reason == "" {
		a.reason = reasonOf(err)
	}
}

func reasonOf(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, errMalformed):
		return "malformed output after a repair attempt"
	case errors.Is(err, errBudget):
		return "token budget exhausted"
	}
	if st := statusOf(err); st != 0 {
		return fmt.Sprintf("HTTP %d", st)
	}
	return "request failed"
}

// runAxis is the Run function of the "<axis>/llm" checker. It never returns
// an error: failures become notes, and the verdict stays with the rules.
func (r *Reviewer) runAxis(ctx context.Context, pass *axes.Pass, axis axes.Axis) {
	p := r.planFor(pass.Input)
	p.once.Do(func() {
		p.build(ctx, r, pass.Input, pass.Prior())
		if p.err == nil {
			pass.Note(p.coverage)
		}
	})
	if p.err != nil {
		pass.Note(fmt.Sprintf("LLM unavailable for %s (%v); this axis was checked by rules only.", axis, p.err))
		return
	}
	w := p.work[axis]
	run := &axisRun{}
	for _, c := range w.cached {
		r.report(pass, axis, c.chunk, c.findings, run)
	}

	// Stop before the checker's own deadline, so that a slow model ends in
	// a note rather than a checker error.
	deadline := p.deadline
	if dl, ok := ctx.Deadline(); ok {
		margin := min(2*time.Second, time.Until(dl)/10)
		if d := dl.Add(-margin); d.Before(deadline) {
			deadline = d
		}
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	var wg sync.WaitGroup
	for _, batch := range w.batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fs, err := r.review(ctx, p, axis, batch, run)
			if err != nil {
				run.fail(err)
				r.log.Warn("llm request failed", "checker", pass.Checker.Name, "err", err)
				return
			}
			byChunk := attribute(batch, fs)
			for _, pt := range batch {
				for _, c := range pt.chunks {
					if err := r.store.Put(ctx, cacheKey(r.cfg.Model, axis, c.hash), Entry{Findings: byChunk[c]}); err != nil {
						r.log.Warn("llm cache put", "err", err)
					}
					r.report(pass, axis, c, byChunk[c], run)
				}
			}
		}()
	}
	wg.Wait()

	for _, n := range run.offDiff {
		pass.Note(n)
	}
	if run.dropped > 0 {
		pass.Note(fmt.Sprintf("LLM %s: %d more findings were not on a changed line and were left out.", axis, run.dropped))
	}
	switch {
	case run.failed > 0 && run.failed == len(w.batches):
		pass.Note(fmt.Sprintf("LLM unavailable for %s (%s); this axis was checked by rules only.", axis, run.reason))
	case run.failed > 0:
		pass.Note(fmt.Sprintf("LLM unavailable for %s on %d of %d requests (%s); their files were checked by rules only. %d requests, %s tokens, %d cache hits.",
			axis, run.failed, len(w.batches), run.reason, run.requests, thousands(run.tokens), w.hits))
	default:
		pass.Note(fmt.Sprintf("LLM %s: %d requests, %s tokens, %d cache hits.", axis, run.requests, thousands(run.tokens), w.hits))
	}
}

// review sends one batch and returns the model's findings, after one repair
// round when the reply is malformed.
func (r *Reviewer) review(ctx context.Context, p *plan, axis axes.Axis, batch []*part, run *axisRun) ([]ModelFinding, error) {
	files := make([]prompts.File, len(batch))
	for i, pt := range batch {
		files[i] = pt.file()
	}
	content, err := r.send(ctx, p, func(schema bool) ([]prompts.Message, error) {
		return prompts.Render(prompts.Request{Axis: string(axis), PR: p.pr, Files: files, Schema: schema})
	}, run)
	if err != nil {
		return nil, err
	}
	fs, perr := parseReply(content)
	if perr == nil {
		return fs, nil
	}
	if len(content) > maxRepairChars {
		content = content[:maxRepairChars]
	}
	bad := content
	content, err = r.send(ctx, p, func(bool) ([]prompts.Message, error) { return prompts.Repair(bad) }, run)
	if err != nil {
		return nil, err
	}
	return parseReply(content)
}

// send makes one chat request within the global concurrency limit, charging
// its tokens to the review's budget when it succeeds. render builds the
// messages; its argument says whether the request carries the findings
// schema, which depends on the response formats the server accepts.
func (r *Reviewer) send(ctx context.Context, p *plan, render func(schema bool) ([]prompts.Message, error), run *axisRun) (string, error) {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-r.sem }()
	for {
		level := r.format.Load()
		msgs, err := render(level == formatSchema)
		if err != nil {
			return "", err
		}
		n := int64(r.requestTokens(msgs, level))
		if p.spent.Load()+n > int64(p.budget) {
			return "", errBudget
		}
		content, err := r.chat(ctx, msgs, level)
		if errors.Is(err, errFormatRejected) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("%w: %w", ctx.Err(), err)
			}
			return "", err
		}
		p.spent.Add(n)
		run.mu.Lock()
		run.requests++
		run.tokens += int(n)
		run.mu.Unlock()
		return content, nil
	}
}

// attribute assigns each finding to the chunk of the batch it belongs to: the
// chunk of its path whose hunk contains its line, else the first chunk of
// its path. Findings on paths outside the batch are dropped.
func attribute(batch []*part, fs []ModelFinding) map[*chunk][]ModelFinding {
	out := map[*chunk][]ModelFinding{}
	var all []*chunk
	for _, pt := range batch {
		for _, c := range pt.chunks {
			out[c] = []ModelFinding{}
			all = append(all, c)
		}
	}
	for _, f := range fs {
		var first, hit *chunk
		for _, c := range all {
			if c.path != f.Path {
				continue
			}
			if first == nil {
				first = c
			}
			if hit == nil && int(f.Line) >= c.rng[0] && int(f.Line) <= c.rng[1] {
				hit = c
			}
		}
		if hit == nil {
			hit = first
		}
		if hit != nil {
			out[hit] = append(out[hit], f)
		}
	}
	return out
}

var ruleSlug = regexp.MustCompile(`[^a-z0-9-]+`)

// report validates the model's findings for chunk c and reports the valid
// ones: the path must be the chunk's, low-confidence findings are dropped,
// severity is capped at warning unless an agreeing rule finding is an error
// (see agreed), and a finding
// that does not touch an added line becomes a note.
func (r *Reviewer) report(pass *axes.Pass, axis axes.Axis, c *chunk, fs []ModelFinding, run *axisRun) {
	for _, f := range fs {
		if f.Path != c.path || pass.FileDiff(f.Path) == nil {
			continue // unknown path
		}
		conf := strings.ToLower(strings.TrimSpace(f.Confidence))
		if conf == "low" {
			continue
		}
		msg := strings.TrimSpace(f.Message)
		if msg == "" {
			continue
		}
		if len(msg) > 1000 {
			msg = msg[:1000] + "…"
		}
		line, end := int(f.Line), int(f.EndLine)
		if end < line {
			end = line
		}
		if end > line+200 {
			end = line + 200
		}
		sev := axes.SeverityWarning
		agreeing := ""
		switch strings.ToLower(strings.TrimSpace(f.Severity)) {
		case "info":
			sev = axes.SeverityInfo
		case "error":
			if conf == "high" {
				// Never above the agreeing rule: a model can confirm a
				// blocking rule finding, never turn a warning into a block.
				var ruleSev axes.Severity
				if agreeing, ruleSev = agreed(pass.Prior(), axis, f.Path, line, end); ruleSev == axes.SeverityError {
					sev = axes.SeverityError
				}
			}
		}
		rule := strings.Trim(ruleSlug.ReplaceAllString(strings.ToLower(f.Rule), "-"), "-")
		if len(rule) > 40 {
			rule = rule[:40]
		}
		if conf == "" {
			conf = "unstated"
		}
		var by string
		if rule != "" {
			by = fmt.Sprintf("model: %s, %s confidence", rule, conf)
		} else {
			by = fmt.Sprintf("model, %s confidence", conf)
		}
		if agreeing != "" {
			by += ", on the lines of " + agreeing
		}
		msg = fmt.Sprintf("%s (%s)", msg, by)
		if line <= 0 || !pass.AddedIn(f.Path, line, end) {
			run.mu.Lock()
			if len(run.offDiff) < maxOffDiffNotes {
				run.offDiff = append(run.offDiff, fmt.Sprintf("LLM %s, not on a changed line, %s:%d: %s", axis, f.Path, line, msg))
			} else {
				run.dropped++
			}
			run.mu.Unlock()
			continue
		}
		pass.Report(axes.Finding{Path: f.Path, Line: line, EndLine: end, Severity: sev, Message: msg, Source: axes.SourceLLM})
	}
}

// agreed returns the rule and severity of a finding in prior that agrees
// with a model finding of axis on path, lines line..end: a heuristic or
// analyzer finding (not a model's, not the prompt-injection rule's, which is
// about who wrote the text rather than what the code does) of the same axis,
// on the same path, whose lines overlap. It returns "" when none does. Of
// several, the most severe wins, then the first.
func agreed(prior []axes.Finding, axis axes.Axis, path string, line, end int) (string, axes.Severity) {
	best, rank, sev := "", 0, axes.Severity("")
	for _, f := range prior {
		if f.Axis != axis || f.Path != path || f.Line <= 0 || f.Rule == PromptInjectionRule ||
			(f.Source != axes.SourceHeuristic && f.Source != axes.SourceAnalyzer) {
			continue
		}
		a, b := f.Span()
		if a > end || b < line {
			continue
		}
		if f.Severity.Rank() > rank {
			best, rank, sev = f.Rule, f.Severity.Rank(), f.Severity
		}
	}
	return best, sev
}
