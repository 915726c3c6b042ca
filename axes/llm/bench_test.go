package llm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
	"github.com/fiveaxis/fiveaxis/gitops"
	"github.com/fiveaxis/fiveaxis/prompts"
)

// largePR writes a large PR into a new git repository: 400 changed files
// (Go sources, tests, YAML and Markdown, a few with security-sensitive
// names), one to three hunks each. Branch pr is the first push; pr2 adds one
// commit that edits one file, as an author's follow-up push would.
func largePR(tb testing.TB) (dir string) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(42, 7))
	dir = tb.TempDir()
	axestest.Git(tb, dir, "init", "-q", "-b", "main")
	type file struct {
		path  string
		lines []string
	}
	var files []file
	for i := range 400 {
		var p string
		switch {
		case i < 10:
			p = fmt.Sprintf("internal/auth/session%02d.go", i)
		case i < 300:
			p = fmt.Sprintf("pkg%02d/file%03d.go", i%30, i)
		case i < 340:
			p = fmt.Sprintf("pkg%02d/file%03d_test.go", i%30, i)
		case i < 370:
			p = fmt.Sprintf("deploy/svc%02d.yaml", i)
		default:
			p = fmt.Sprintf("docs/page%02d.md", i)
		}
		n := 60 + rng.IntN(80)
		lines := []string{fmt.Sprintf("package pkg%02d", i%30), ""}
		for j := 2; j < n; j++ {
			switch rng.IntN(6) {
			case 0:
				lines = append(lines, fmt.Sprintf("func F%d_%d(x int) int {", i, j))
			case 1:
				lines = append(lines, "}")
			default:
				lines = append(lines, fmt.Sprintf("\tv%d := compute(x, %d) // step %d", j, rng.IntN(1000), j))
			}
		}
		files = append(files, file{p, lines})
	}
	write := func(f file) { writeFileTB(tb, dir, f.path, strings.Join(f.lines, "\n")+"\n") }
	for _, f := range files {
		write(f)
	}
	axestest.Git(tb, dir, "add", "-A")
	axestest.Git(tb, dir, "commit", "-q", "-m", "base")
	axestest.Git(tb, dir, "checkout", "-q", "-b", "pr")
	for fi := range files {
		f := &files[fi]
		for range 1 + rng.IntN(3) {
			at := 2 + rng.IntN(len(f.lines)-2)
			var add []string
			for k := range 3 + rng.IntN(12) {
				add = append(add, fmt.Sprintf("\tw%d := check(v, %d) // added %d", k, rng.IntN(1000), k))
			}
			f.lines = append(f.lines[:at], append(add, f.lines[at:]...)...)
		}
		write(*f)
	}
	axestest.Git(tb, dir, "add", "-A")
	axestest.Git(tb, dir, "commit", "-q", "-m", "large change")
	axestest.Git(tb, dir, "checkout", "-q", "-b", "pr2")
	f := files[0]
	f.lines = append(f.lines, "", "// Close ends the session.", "func Close() error { return nil }")
	write(f)
	axestest.Git(tb, dir, "commit", "-q", "-am", "review fix")
	return dir
}

func writeFileTB(tb testing.TB, dir, p, content string) { write(tb, dir, p, content) }

// inputOf computes the review input of head against main.
func inputOf(tb testing.TB, repo *gitops.Repo, head string) axes.Input {
	tb.Helper()
	base, err := repo.Resolve("main")
	if err != nil {
		tb.Fatal(err)
	}
	h, err := repo.Resolve(head)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := repo.Diff(context.Background(), base, h)
	if err != nil {
		tb.Fatal(err)
	}
	return axes.Input{Diff: d, Base: gitops.TreeAt(repo, base), Head: gitops.TreeAt(repo, h), PR: axes.PullRequest{
		Title: "Add checks to the compute pipeline",
		Body:  "Every step now checks its input before computing.\n\nThe session package gets the same checks; docs and deploy files follow.",
	}}
}

// sentTokens counts the input tokens of reqs as the server received them:
// the messages, plus the findings schema where response_format carried it.
func sentTokens(rv *Reviewer, reqs []chatRequest) int {
	n := 0
	for _, req := range reqs {
		msgs := make([]prompts.Message, len(req.Messages))
		for i, m := range req.Messages {
			msgs[i] = prompts.Message{Role: m.Role, Content: m.Content}
		}
		level := formatJSONObject
		if req.ResponseFormat != nil && req.ResponseFormat.JSONSchema != nil {
			level = formatSchema
		}
		n += rv.requestTokens(msgs, level)
	}
	return n
}

// BenchmarkReReview measures the input tokens of a large PR's first review
// and of the re-review after a one-file push, with the default budget and
// with a budget large enough for the whole PR. The figures are in
// bench/llm/RESULTS.md.
func BenchmarkReReview(b *testing.B) {
	dir := largePR(b)
	repo, err := gitops.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer repo.Close()
	first, second := inputOf(b, repo, "pr"), inputOf(b, repo, "pr2")
	for _, bc := range []struct {
		name   string
		budget int
	}{{"budget=60000", 0}, {"budget=unlimited", 10_000_000}} {
		b.Run(bc.name, func(b *testing.B) {
			var t1, t2, r1, r2 int
			var note string
			for range b.N {
				bd := setup(b, Config{Budget: bc.budget}, empty)
				res := run(b, first, bd.rv.Checkers(), 0)
				reqs := bd.fake.requests()
				t1, r1 = sentTokens(bd.rv, reqs), len(reqs)
				note = noteWith(res, "LLM reviewed")
				run(b, second, bd.rv.Checkers(), 0)
				reqs2 := bd.fake.requests()[len(reqs):]
				t2, r2 = sentTokens(bd.rv, reqs2), len(reqs2)
			}
			b.ReportMetric(float64(t1), "tokens/first")
			b.ReportMetric(float64(t2), "tokens/rereview")
			b.ReportMetric(100*float64(t2)/float64(t1), "rereview%")
			b.Logf("%d files; first review: %d requests, %d tokens (%s); re-review after a one-file push: %d requests, %d tokens (%.2f%%)",
				len(first.Diff.Files), r1, t1, note, r2, t2, 100*float64(t2)/float64(t1))
		})
	}
}
