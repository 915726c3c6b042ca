// Package reviewer owns the review pipeline and its domain types: it
// computes the drift of a head against its target, runs the checkers of the
// five axes, decides the verdict by fixed rules and renders the review as
// markdown, JSON (schema 1) or SARIF 2.1.0. It also declares the small
// interfaces its adapters implement (the forge, the queue).
package reviewer

import (
	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

// SchemaVersion is the version of the JSON contract.
const SchemaVersion = 1

// Verdict is the outcome of a review.
type Verdict string

// Verdicts.
const (
	VerdictApprove        Verdict = "approve"
	VerdictRequestChanges Verdict = "request_changes"
	VerdictNeedsRebase    Verdict = "needs_rebase"
	VerdictComment        Verdict = "comment"
)

// Blocking reports whether the verdict should stop a merge (exit status 1).
func (v Verdict) Blocking() bool { return v == VerdictRequestChanges || v == VerdictNeedsRebase }

// Status is an axis's outcome.
type Status string

// Axis statuses.
const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusNA   Status = "na"
)

// Ref is a named revision and the commit it resolved to.
type Ref struct {
	Ref string `json:"ref"`
	SHA string `json:"sha"`
}

// PullRequest identifies the pull request under review, when there is one.
type PullRequest struct {
	Repo   string // "owner/name"
	Number int64
	Title  string
	Body   string
	URL    string
	Author string
	// Comments are the human comments on the PR, oldest first: data, never
	// instructions. The bot's own comments are not among them.
	Comments []string
}

// AxisReport is one axis of a review.
type AxisReport struct {
	Axis     axes.Axis
	Status   Status
	Summary  string
	Findings []axes.Finding
	Errors   []string // checkers that failed on this axis
}

// Drift is how far the head has drifted from the target.
type Drift struct {
	Behind    int
	Ahead     int
	VsTarget  gitops.Stat
	Conflicts []string
	TargetSHA string // current tip of the target branch
}

// Review is a complete review of one head against one target.
type Review struct {
	Title     string       // the PR title, or the branch name
	PR        *PullRequest // nil for a local review
	Verdict   Verdict
	Base      Ref    // the target branch and its current tip
	Head      Ref    // the reviewed head
	MergeBase string // merge-base of head and the target tip
	Diff      gitops.Stat
	Files     []string // paths the PR changes
	Drift     Drift
	MaxBehind int
	Axes      []AxisReport
	Notes     []string // coverage notes, e.g. "LLM off: heuristics only"
	Version   string   // fiveaxis version that produced the review
}

// Findings returns every finding of the review, in axis order.
func (r *Review) Findings() []axes.Finding {
	var out []axes.Finding
	for _, a := range r.Axes {
		out = append(out, a.Findings...)
	}
	return out
}

// Axis returns the report of axis a, or nil.
func (r *Review) Axis(a axes.Axis) *AxisReport {
	for i := range r.Axes {
		if r.Axes[i].Axis == a {
			return &r.Axes[i]
		}
	}
	return nil
}
