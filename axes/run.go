package axes

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// FilterMode selects which findings survive, after reviewdog's modes.
type FilterMode string

// Filter modes.
const (
	// FilterAdded keeps findings that touch a line the PR added. Findings
	// with Line 0 are kept when their file is changed (or have no path).
	FilterAdded FilterMode = "added"
	// FilterDiffContext keeps findings inside the diff's hunks.
	FilterDiffContext FilterMode = "diff_context"
	// FilterFile keeps findings in any file the PR changed.
	FilterFile FilterMode = "file"
)

// ParseFilterMode checks a filter mode name; empty means FilterAdded.
func ParseFilterMode(s string) (FilterMode, error) {
	switch m := FilterMode(s); m {
	case "":
		return FilterAdded, nil
	case FilterAdded, FilterDiffContext, FilterFile:
		return m, nil
	}
	return "", fmt.Errorf("unknown filter mode %q (want added, diff_context or file)", s)
}

// Options control a Run.
type Options struct {
	// Timeout limits each checker; zero means 30 seconds.
	Timeout time.Duration
	// Filter selects findings by position; empty means FilterAdded.
	Filter FilterMode
	// Disabled names rules (or "axis/*" or a whole axis name) that do not run.
	Disabled []string
	// Enabled, when non-empty, names the only rules that run (same patterns).
	Enabled []string
	// Severity overrides the severity of a rule's findings.
	Severity map[string]Severity
	// Ignore lists path.Match patterns (a trailing "/**" matches a whole
	// tree) of files whose findings are dropped.
	Ignore []string
	// Concurrency caps checkers running at once; zero means GOMAXPROCS.
	Concurrency int
	// Dedupe, when set, removes findings that repeat another finding of a
	// different rule (an analyzer and an AST rule reporting the same bug). It
	// runs after the filtering, before the fingerprint de-duplication.
	Dedupe func([]Finding) []Finding
}

// CheckerError is a checker that failed: it returned an error, panicked or
// timed out.
type CheckerError struct {
	Checker string
	Axis    Axis
	Err     error
}

func (e CheckerError) Error() string { return e.Checker + ": " + e.Err.Error() }

// Result is the outcome of a Run.
type Result struct {
	Findings []Finding // filtered, de-duplicated, sorted by axis, path, line, rule
	Errors   []CheckerError
	Ran      []string // names of the checkers that ran
	Notes    []string // coverage notes from Pass.Note, sorted
}

// ErrTimeout is wrapped by the CheckerError of a checker that ran too long.
var ErrTimeout = errors.New("checker timed out")

// ruleMatches reports whether a rule name matches a pattern: the exact name,
// "axis/*" or a bare axis name.
func ruleMatches(pattern, name string) bool {
	if pattern == name {
		return true
	}
	axis, _, _ := strings.Cut(name, "/")
	return pattern == axis || pattern == axis+"/*"
}

func selected(c *Checker, opt Options) bool {
	for _, p := range opt.Disabled {
		if ruleMatches(p, c.Name) {
			return false
		}
	}
	if len(opt.Enabled) == 0 {
		return true
	}
	for _, p := range opt.Enabled {
		if ruleMatches(p, c.Name) {
			return true
		}
	}
	return false
}

// MatchPath reports whether p matches a path.Match pattern, where a trailing
// "/**" matches everything below a directory and a pattern without a slash
// also matches the base name.
func MatchPath(pattern, p string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/**"); ok {
		return p == prefix || strings.HasPrefix(p, prefix+"/") || strings.Contains("/"+p, "/"+prefix+"/") && !strings.ContainsAny(prefix, "*?[")
	}
	if ok, _ := path.Match(pattern, p); ok {
		return true
	}
	if !strings.Contains(pattern, "/") {
		ok, _ := path.Match(pattern, path.Base(p))
		return ok
	}
	return false
}

// Run validates the checkers, runs the selected ones concurrently on in and
// returns the filtered findings and the checkers' errors. A checker that
// panics, fails or times out becomes a CheckerError; the others still report.
func Run(ctx context.Context, checkers []*Checker, in Input, opt Options) (*Result, error) {
	if err := Validate(checkers); err != nil {
		return nil, err
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = runtime.GOMAXPROCS(0)
	}
	mode, err := ParseFilterMode(string(opt.Filter))
	if err != nil {
		return nil, err
	}
	sh := newShared(&in)
	res := &Result{}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		sem      = make(chan struct{}, opt.Concurrency)
		findings []Finding
	)
	// Two phases: the rules first, then the Late checkers (a model), which
	// see the rules' findings through Pass.Prior.
	var prior []Finding
	for _, late := range []bool{false, true} {
		if late {
			wg.Wait()
			prior = finish(append([]Finding(nil), findings...), sh, mode, opt)
		}
		for _, c := range checkers {
			if c.Late != late || !selected(c, opt) {
				continue
			}
			res.Ran = append(res.Ran, c.Name)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				var local []Finding
				note := func(msg string) {
					mu.Lock()
					defer mu.Unlock()
					res.Notes = append(res.Notes, msg)
				}
				err := runOne(ctx, c, &in, sh, opt.Timeout, prior, func(f Finding) { local = append(local, f) }, note)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					res.Errors = append(res.Errors, CheckerError{Checker: c.Name, Axis: c.Axis, Err: err})
				}
				findings = append(findings, local...)
			}()
		}
	}
	wg.Wait()
	sort.Strings(res.Notes)
	sort.Slice(res.Errors, func(i, j int) bool { return res.Errors[i].Checker < res.Errors[j].Checker })
	res.Findings = finish(findings, sh, mode, opt)
	return res, nil
}

// runOne runs one checker with a timeout, turning a panic into an error. A
// checker that fails or panics reports nothing; a checker that runs out of
// time (or ignores its context and is abandoned) keeps the findings it
// reported before the deadline, and its error wraps ErrTimeout.
func runOne(ctx context.Context, c *Checker, in *Input, sh *shared, timeout time.Duration, prior []Finding, report func(Finding), note func(string)) error {
	if c.Timeout > 0 {
		timeout = c.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		mu     sync.Mutex
		closed bool
		buf    []Finding
	)
	pass := &Pass{Checker: c, Input: in, shared: sh, prior: prior, note: note, report: func(f Finding) {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			buf = append(buf, f)
		}
	}}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v\n%s", r, firstFrames(debug.Stack()))
			}
		}()
		done <- c.Run(ctx, pass)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("%w after %s", ErrTimeout, timeout)
	}
	mu.Lock()
	closed = true
	out := buf
	mu.Unlock()
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("%w after %s", ErrTimeout, timeout)
	}
	if err != nil && !errors.Is(err, ErrTimeout) {
		return err
	}
	// A checker that ran out of time keeps what it reported before the
	// deadline; the timeout is still reported as its error.
	for _, f := range out {
		report(f)
	}
	return err
}

// firstFrames keeps the panic's own frames short enough for a log line.
func firstFrames(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	if len(lines) > 12 {
		lines = lines[:12]
	}
	return strings.Join(lines, "\n")
}

func finish(all []Finding, sh *shared, mode FilterMode, opt Options) []Finding {
	kept := make([]Finding, 0, len(all))
	for _, f := range all {
		if sev, ok := opt.Severity[f.Rule]; ok {
			f.Severity = sev
		}
		if f.Path != "" && ignored(f.Path, opt.Ignore) {
			continue
		}
		if keep(f, sh, mode) {
			kept = append(kept, f)
		}
	}
	if opt.Dedupe != nil {
		kept = opt.Dedupe(kept)
	}
	seen := map[string]bool{}
	out := make([]Finding, 0, len(kept))
	for _, f := range kept {
		fp := f.Fingerprint()
		if seen[fp] {
			continue
		}
		seen[fp] = true
		out = append(out, f)
	}
	order := map[Axis]int{}
	for i, a := range All {
		order[a] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if order[a.Axis] != order[b.Axis] {
			return order[a.Axis] < order[b.Axis]
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Rule < b.Rule
	})
	return out
}

func ignored(p string, patterns []string) bool {
	for _, pat := range patterns {
		if MatchPath(pat, p) {
			return true
		}
	}
	return false
}

func keep(f Finding, sh *shared, mode FilterMode) bool {
	if f.Path == "" {
		return true // a PR-level finding
	}
	fd, changed := sh.files[f.Path]
	if !changed {
		return false
	}
	if f.Line <= 0 || mode == FilterFile {
		return true
	}
	from, to := f.Span()
	switch mode {
	case FilterDiffContext:
		for _, h := range fd.Hunks {
			if from <= h.NewStart+h.NewLines-1 && to >= h.NewStart {
				return true
			}
		}
		return false
	default:
		m := sh.added[f.Path]
		for l := from; l <= to; l++ {
			if m[l] {
				return true
			}
		}
		return false
	}
}
