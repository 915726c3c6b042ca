package architecture

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// PRTooLarge reports pull requests too large to review well.
var PRTooLarge = &axes.Checker{
	Name:     "architecture/pr-too-large",
	Doc:      `Pull requests should be small enough to review. Past the configured number of changed lines (max_pr_lines, default 1500) or files (max_pr_files, default 60), reviewers skim and defects slip through; split the change into steps that each build and pass the tests. Lock files, go.sum and vendored code are not counted.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityInfo,
	Run:      runPRTooLarge,
}

// countedFile reports whether a changed file counts towards the PR size.
func countedFile(p string) bool {
	base := path.Base(p)
	switch base {
	case "go.sum", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "poetry.lock", "Gemfile.lock", "composer.lock":
		return false
	}
	return !strings.HasPrefix(p, "vendor/") && !strings.Contains(p, "/vendor/") && !strings.Contains(p, "node_modules/")
}

func runPRTooLarge(_ context.Context, pass *axes.Pass) error {
	if pass.Diff == nil {
		return nil
	}
	lines, files := 0, 0
	for _, f := range pass.Diff.Files {
		if !countedFile(f.Path()) {
			continue
		}
		files++
		lines += len(f.Added) + len(f.Removed)
	}
	maxLines, maxFiles := pass.Settings.PRLines(), pass.Settings.PRFiles()
	if lines <= maxLines && files <= maxFiles {
		return nil
	}
	sev := axes.SeverityInfo
	if lines > 2*maxLines || files > 2*maxFiles {
		sev = axes.SeverityWarning
	}
	pass.Report(axes.Finding{Severity: sev, Message: fmt.Sprintf(
		"This pull request changes %d lines in %d files (limits %d lines, %d files), too much to review carefully; split it into smaller steps that each build and pass the tests.",
		lines, files, maxLines, maxFiles)})
	return nil
}
