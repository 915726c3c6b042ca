package reviewer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

// DefaultMaxBehind is the default number of target commits a head may lack
// before it needs a rebase.
const DefaultMaxBehind = 100

// RepoConfigPath is the per-repository configuration file, read from the
// target branch (never from the PR head).
const RepoConfigPath = ".fiveaxis.yml"

// Options configure a review.
type Options struct {
	// Checkers are the rules to run; cmd passes them in explicitly.
	Checkers []*axes.Checker
	// MaxBehind is the rebase threshold; zero means DefaultMaxBehind.
	MaxBehind int
	// Filter selects findings by position; empty means axes.FilterAdded.
	Filter axes.FilterMode
	// CheckerTimeout limits each checker; zero means 30 seconds.
	CheckerTimeout time.Duration
	// Notes are added to the review's coverage notes (e.g. "LLM off").
	Notes []string
	// Version is the fiveaxis version recorded in the review.
	Version string
	// IgnoreRepoConfig skips reading .fiveaxis.yml from the target branch.
	IgnoreRepoConfig bool
	// Dedupe, when set, merges findings of different rules that report the
	// same problem (see axes.Options.Dedupe).
	Dedupe func([]axes.Finding) []axes.Finding
}

// Request names what to review.
type Request struct {
	BaseRef string       // the target branch (or any revision)
	HeadRef string       // the head to review
	PR      *PullRequest // optional
}

// Run reviews req.HeadRef against req.BaseRef in repo: it computes the drift
// and the PR diff (merge-base..head), runs the checkers and decides the
// verdict.
func Run(ctx context.Context, repo *gitops.Repo, req Request, opt Options) (*Review, error) {
	baseSHA, err := repo.Resolve(req.BaseRef)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	headSHA, err := repo.Resolve(req.HeadRef)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	drift, err := repo.ComputeDrift(ctx, baseSHA, headSHA)
	if err != nil {
		return nil, fmt.Errorf("drift of %s against %s: %w", req.HeadRef, req.BaseRef, err)
	}
	diff, err := repo.Diff(ctx, drift.MergeBase, headSHA)
	if err != nil {
		return nil, fmt.Errorf("diff %s..%s: %w", short(drift.MergeBase), short(headSHA), err)
	}
	rc := &RepoConfig{}
	if !opt.IgnoreRepoConfig {
		// The target's config, so that a PR cannot switch its own checks off.
		rc, err = LoadRepoConfig(gitops.TreeAt(repo, baseSHA))
		if err != nil {
			return nil, err
		}
	}
	maxBehind := opt.MaxBehind
	if maxBehind <= 0 {
		maxBehind = DefaultMaxBehind
	}
	in := axes.Input{
		Diff:     diff,
		Drift:    drift,
		Base:     gitops.TreeAt(repo, drift.MergeBase),
		Head:     gitops.TreeAt(repo, headSHA),
		Settings: rc.Settings,
	}
	if req.PR != nil {
		in.PR = axes.PullRequest{Title: req.PR.Title, Body: req.PR.Body, Comments: req.PR.Comments}
	}
	res, err := axes.Run(ctx, opt.Checkers, in, axes.Options{
		Timeout:  opt.CheckerTimeout,
		Filter:   opt.Filter,
		Disabled: rc.Disable,
		Enabled:  rc.Enable,
		Severity: rc.Severity,
		Ignore:   rc.ignorePatterns(),
		Dedupe:   opt.Dedupe,
	})
	if err != nil {
		return nil, err
	}
	r := &Review{
		Title:     req.HeadRef,
		PR:        req.PR,
		Base:      Ref{Ref: req.BaseRef, SHA: baseSHA},
		Head:      Ref{Ref: req.HeadRef, SHA: headSHA},
		MergeBase: drift.MergeBase,
		Diff:      diff.Stat,
		Drift: Drift{
			Behind: drift.Behind, Ahead: drift.Ahead, VsTarget: drift.VsTarget,
			Conflicts: drift.Conflicts, TargetSHA: drift.TargetSHA,
		},
		MaxBehind: maxBehind,
		Notes:     append(append([]string(nil), opt.Notes...), res.Notes...),
		Version:   opt.Version,
	}
	if req.PR != nil && req.PR.Title != "" {
		r.Title = req.PR.Title
	}
	for _, f := range diff.Files {
		r.Files = append(r.Files, f.Path())
	}
	r.Axes = buildAxes(res, diff, opt.Checkers)
	r.Verdict = Decide(r)
	return r, nil
}

// Decide computes the verdict by fixed rules, never by a model:
//   - needs_rebase when the head conflicts textually with the target, or the
//     target has more than MaxBehind commits the head lacks;
//   - otherwise request_changes when any finding has severity error;
//   - otherwise comment when a checker failed (the review is incomplete);
//   - otherwise approve.
func Decide(r *Review) Verdict {
	maxBehind := r.MaxBehind
	if maxBehind <= 0 {
		maxBehind = DefaultMaxBehind
	}
	if len(r.Drift.Conflicts) > 0 || r.Drift.Behind > maxBehind {
		return VerdictNeedsRebase
	}
	incomplete := false
	for _, a := range r.Axes {
		for _, f := range a.Findings {
			if f.Severity == axes.SeverityError {
				return VerdictRequestChanges
			}
		}
		if len(a.Errors) > 0 {
			incomplete = true
		}
	}
	if incomplete {
		return VerdictComment
	}
	return VerdictApprove
}

func buildAxes(res *axes.Result, diff *gitops.Diff, checkers []*axes.Checker) []AxisReport {
	ran := map[axes.Axis]int{}
	for _, name := range res.Ran {
		axis, _, _ := strings.Cut(name, "/")
		ran[axes.Axis(axis)]++
	}
	var out []AxisReport
	for _, a := range axes.All {
		ar := AxisReport{Axis: a, Findings: []axes.Finding{}}
		for _, f := range res.Findings {
			if f.Axis == a {
				ar.Findings = append(ar.Findings, f)
			}
		}
		for _, e := range res.Errors {
			if e.Axis == a {
				ar.Errors = append(ar.Errors, e.Error())
			}
		}
		ar.Status, ar.Summary = summarize(ar, ran[a], len(diff.Files) == 0)
		out = append(out, ar)
	}
	return out
}

func summarize(ar AxisReport, ran int, emptyDiff bool) (Status, string) {
	var errs, warns, infos int
	for _, f := range ar.Findings {
		switch f.Severity {
		case axes.SeverityError:
			errs++
		case axes.SeverityWarning:
			warns++
		default:
			infos++
		}
	}
	counts := countPhrase(errs, warns, infos)
	switch {
	case errs > 0:
		return StatusFail, counts + "; blocking issues must be fixed before merging"
	case emptyDiff:
		return StatusNA, "the PR changes no files"
	case ran == 0:
		return StatusNA, "no checks are enabled for this axis"
	case len(ar.Errors) > 0 && len(ar.Errors) >= ran:
		return StatusNA, "every check on this axis failed to run; see the errors"
	case len(ar.Errors) > 0:
		return StatusPass, fmt.Sprintf("%s; %d of %d checks failed to run", orNone(counts), len(ar.Errors), ran)
	case warns+infos > 0:
		return StatusPass, counts + "; nothing blocking"
	}
	return StatusPass, fmt.Sprintf("no issues found by %d %s", ran, plural(ran, "check", "checks"))
}

func orNone(s string) string {
	if s == "" {
		return "no issues found"
	}
	return s
}

func countPhrase(errs, warns, infos int) string {
	var parts []string
	add := func(n int, word string) {
		if n == 1 {
			parts = append(parts, "1 "+word)
		} else if n > 1 {
			parts = append(parts, fmt.Sprintf("%d %ss", n, word))
		}
	}
	add(errs, "error")
	add(warns, "warning")
	add(infos, "note")
	return strings.Join(parts, ", ")
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
