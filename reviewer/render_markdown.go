package reviewer

import (
	"fmt"
	"io"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

var verdictTitle = map[Verdict]string{
	VerdictApprove:        "APPROVED",
	VerdictRequestChanges: "REQUEST CHANGES",
	VerdictNeedsRebase:    "NEEDS REBASE",
	VerdictComment:        "COMMENT",
}

var axisTitle = map[axes.Axis]string{
	axes.Correctness:  "Correctness",
	axes.Readability:  "Readability",
	axes.Architecture: "Architecture",
	axes.Security:     "Security",
	axes.Performance:  "Performance",
}

// StatString renders a diffstat as git's --shortstat does.
func StatString(s gitops.Stat) string {
	plural := func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	}
	out := fmt.Sprintf("%d %s changed", s.FilesChanged, plural(s.FilesChanged, "file", "files"))
	if s.Insertions > 0 || s.Deletions == 0 {
		out += fmt.Sprintf(", %d %s(+)", s.Insertions, plural(s.Insertions, "insertion", "insertions"))
	}
	if s.Deletions > 0 || s.Insertions == 0 {
		out += fmt.Sprintf(", %d %s(-)", s.Deletions, plural(s.Deletions, "deletion", "deletions"))
	}
	return out
}

// RebaseParagraph explains why the head needs a rebase, with the base it was
// built on, how far the target has moved, the diff against the current target
// and the conflicting files. It is empty unless the verdict is needs_rebase.
func RebaseParagraph(r *Review) string {
	if r.Verdict != VerdictNeedsRebase {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**Needs rebase.** This branch is based on `%s` at `%s`, which is %d %s behind the current `%s` (`%s`).",
		r.Base.Ref, short(r.MergeBase), r.Drift.Behind, plural(r.Drift.Behind, "commit", "commits"), r.Base.Ref, short(r.Drift.TargetSHA))
	fmt.Fprintf(&b, " Diff against the current `%s`: %s.", r.Base.Ref, StatString(r.Drift.VsTarget))
	if n := len(r.Drift.Conflicts); n > 0 {
		fmt.Fprintf(&b, " %d %s with the target: %s.", n, plural(n, "file conflicts", "files conflict"), codeList(r.Drift.Conflicts, 10))
	}
	switch {
	case len(r.Drift.Conflicts) > 0:
		fmt.Fprintf(&b, " Rebase onto the current `%s` and resolve the conflicts; the review runs again on the new head.", r.Base.Ref)
	default:
		fmt.Fprintf(&b, " The limit is %d commits. Rebase onto the current `%s`; the review runs again on the new head.", r.MaxBehind, r.Base.Ref)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func codeList(items []string, max int) string {
	var parts []string
	for i, s := range items {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(items)-max))
			break
		}
		parts = append(parts, "`"+s+"`")
	}
	return strings.Join(parts, ", ")
}

// FindingMarkdown renders one finding as a markdown line (without location
// when inline is true, for inline comments).
func FindingMarkdown(f axes.Finding, inline bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** ", f.Severity)
	if !inline && f.Path != "" {
		loc := f.Path
		if f.Line > 0 {
			loc = fmt.Sprintf("%s:%d", f.Path, f.Line)
			if _, end := f.Span(); end > f.Line {
				loc = fmt.Sprintf("%s-%d", loc, end)
			}
		}
		fmt.Fprintf(&b, "`%s` ", loc)
	}
	fmt.Fprintf(&b, "%s (`%s`", oneLine(f.Message), f.Rule)
	if f.Source != "" && f.Source != axes.SourceHeuristic {
		fmt.Fprintf(&b, ", %s", f.Source)
	}
	b.WriteString(")")
	if inline && f.Suggestion != "" {
		fmt.Fprintf(&b, "\n\n```suggestion\n%s\n```", strings.TrimRight(f.Suggestion, "\n"))
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func statusLine(a AxisReport) string {
	switch a.Status {
	case StatusFail:
		return "**FAIL**"
	case StatusNA:
		return "**PASS (N/A)**"
	}
	return "**PASS**"
}

// WriteMarkdown renders the review in the Five-Axis format: title, verdict,
// head SHA and scope, the rebase paragraph when needed, one section per axis
// with its findings and status line, and a summary.
func WriteMarkdown(w io.Writer, r *Review) error {
	var b strings.Builder
	title := r.Title
	if r.PR != nil && r.PR.Number > 0 {
		title = fmt.Sprintf("PR #%d `%s`", r.PR.Number, r.Title)
	} else {
		title = fmt.Sprintf("`%s`", title)
	}
	fmt.Fprintf(&b, "## Five-Axis Code Review: %s\n\n", title)
	fmt.Fprintf(&b, "**Verdict: %s**\n\n", verdictTitle[r.Verdict])
	fmt.Fprintf(&b, "Reviewed at head SHA `%s` against `%s` (`%s`). Scope: %s",
		r.Head.SHA, r.Base.Ref, short(r.Base.SHA), StatString(r.Diff))
	switch len(r.Files) {
	case 0:
	case 1:
		fmt.Fprintf(&b, " in `%s`", r.Files[0])
	default:
		fmt.Fprintf(&b, " in %s", codeList(r.Files, 5))
	}
	fmt.Fprintf(&b, ". The target is %d %s ahead of the merge-base `%s`.\n\n",
		r.Drift.Behind, plural(r.Drift.Behind, "commit", "commits"), short(r.MergeBase))
	if p := RebaseParagraph(r); p != "" {
		b.WriteString(p + "\n\n")
	}
	for i, a := range r.Axes {
		b.WriteString("---\n\n")
		fmt.Fprintf(&b, "### Axis %d: %s\n\n", i+1, axisTitle[a.Axis])
		for _, f := range a.Findings {
			fmt.Fprintf(&b, "- %s\n", FindingMarkdown(f, false))
		}
		for _, e := range a.Errors {
			fmt.Fprintf(&b, "- check failed: %s\n", oneLine(e))
		}
		if len(a.Findings)+len(a.Errors) > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s (%s)\n\n", axisTitle[a.Axis], statusLine(a), a.Summary)
	}
	b.WriteString("---\n\n")
	fmt.Fprintf(&b, "**Summary:** %s\n", Summary(r))
	if len(r.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "_%s_\n", oneLine(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary is the review's closing sentence.
func Summary(r *Review) string {
	var failed []string
	for _, a := range r.Axes {
		if a.Status == StatusFail {
			failed = append(failed, strings.ToLower(axisTitle[a.Axis]))
		}
	}
	switch r.Verdict {
	case VerdictNeedsRebase:
		if len(r.Drift.Conflicts) > 0 {
			return "the branch conflicts with its target; rebase before the findings above can be trusted."
		}
		return fmt.Sprintf("the branch is %d commits behind its target (limit %d); rebase first.", r.Drift.Behind, r.MaxBehind)
	case VerdictRequestChanges:
		return fmt.Sprintf("blocking findings on %s; please address them.", strings.Join(failed, ", "))
	case VerdictComment:
		return "no blocking findings, but some checks could not run; a human should look before merging."
	}
	n := len(r.Findings())
	if n == 0 {
		return "all five axes pass. Approving."
	}
	return fmt.Sprintf("all five axes pass with %d non-blocking %s. Approving.", n, plural(n, "note", "notes"))
}
