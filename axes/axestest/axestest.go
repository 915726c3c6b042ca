// Package axestest runs checkers on txtar cases, after
// golang.org/x/tools/go/analysis/analysistest. A case has base/ and head/
// trees and an expected.txt section listing the findings it must produce;
// the harness builds a real git repository from the trees (main with base/,
// pr with head/ written over it), computes the diff with gitops and runs the
// checkers through axes.Run, so that the filtering to added lines is the
// product's own.
//
// expected.txt holds one finding per line, "path:line rule" or
// "path:line rule severity" (then the severity is checked too), or the single
// word "none". Lines starting with # are comments. A "-- settings.yaml --"
// section may hold axes.Settings. A "-- delete.txt --" section lists base
// paths the PR deletes.
package axestest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
	"gopkg.in/yaml.v3"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

// Case is a parsed txtar case.
type Case struct {
	Name     string
	Base     map[string][]byte
	Head     map[string][]byte
	Delete   []string
	Expected []string // "path:line rule", sorted
	Settings axes.Settings
}

// Load reads a txtar case file.
func Load(tb testing.TB, file string) *Case {
	tb.Helper()
	ar, err := txtar.ParseFile(file)
	if err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	c := &Case{Name: strings.TrimSuffix(filepath.Base(file), ".txtar"), Base: map[string][]byte{}, Head: map[string][]byte{}}
	sawExpected := false
	for _, f := range ar.Files {
		switch {
		case strings.HasPrefix(f.Name, "base/"):
			c.Base[strings.TrimPrefix(f.Name, "base/")] = f.Data
		case strings.HasPrefix(f.Name, "head/"):
			c.Head[strings.TrimPrefix(f.Name, "head/")] = f.Data
		case f.Name == "settings.yaml":
			if err := yaml.Unmarshal(f.Data, &c.Settings); err != nil {
				tb.Fatalf("%s: settings.yaml: %v", file, err)
			}
		case f.Name == "delete.txt":
			c.Delete = strings.Fields(string(f.Data))
		case f.Name == "expected.txt":
			sawExpected = true
			for _, l := range strings.Split(string(f.Data), "\n") {
				l = strings.TrimSpace(l)
				if l == "" || strings.HasPrefix(l, "#") || l == "none" {
					continue
				}
				c.Expected = append(c.Expected, strings.Join(strings.Fields(l), " "))
			}
		default:
			tb.Fatalf("%s: unknown section %q", file, f.Name)
		}
	}
	if !sawExpected {
		tb.Fatalf("%s: no expected.txt section", file)
	}
	if len(c.Base) == 0 {
		c.Base["README.md"] = []byte("base\n")
	}
	sort.Strings(c.Expected)
	return c
}

// Repo is a case's repository with its diff, ready for axes.Run.
type Repo struct {
	Dir   string
	Repo  *gitops.Repo
	Input axes.Input
}

// Git runs git in dir with a fixed identity and no user configuration.
func Git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "HOME="+dir,
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.invalid",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.invalid",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

func writeTree(tb testing.TB, dir string, files map[string][]byte) {
	tb.Helper()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// Build creates the case's git repository (main = base, pr = head) and
// computes the PR diff with gitops.
func Build(tb testing.TB, c *Case) *Repo {
	tb.Helper()
	dir := tb.TempDir()
	Git(tb, dir, "init", "-q", "-b", "main")
	writeTree(tb, dir, c.Base)
	Git(tb, dir, "add", "-A")
	Git(tb, dir, "commit", "-q", "-m", "base")
	Git(tb, dir, "checkout", "-q", "-b", "pr")
	for _, p := range c.Delete {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil {
			tb.Fatal(err)
		}
	}
	writeTree(tb, dir, c.Head)
	Git(tb, dir, "add", "-A")
	Git(tb, dir, "commit", "-q", "--allow-empty", "-m", "head")
	repo, err := gitops.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { repo.Close() })
	ctx := context.Background()
	base, err := repo.Resolve("main")
	if err != nil {
		tb.Fatal(err)
	}
	head, err := repo.Resolve("pr")
	if err != nil {
		tb.Fatal(err)
	}
	d, err := repo.Diff(ctx, base, head)
	if err != nil {
		tb.Fatal(err)
	}
	return &Repo{Dir: dir, Repo: repo, Input: axes.Input{
		Diff:     d,
		Base:     gitops.TreeAt(repo, base),
		Head:     gitops.TreeAt(repo, head),
		Settings: c.Settings,
	}}
}

// Run runs checkers on every *.txtar case in dir (usually "testdata") as a
// subtest and compares the findings with each case's expected.txt. It fails
// when dir holds no cases.
func Run(t *testing.T, dir string, checkers ...*axes.Checker) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no txtar cases in %s", dir)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			t.Parallel()
			c := Load(t, file)
			r := Build(t, c)
			res, err := axes.Run(context.Background(), checkers, r.Input, axes.Options{Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.Errors {
				t.Errorf("checker error: %v", e)
			}
			got := formatLike(res.Findings, c.Expected)
			if strings.Join(got, "\n") != strings.Join(c.Expected, "\n") {
				t.Errorf("findings differ\ngot:\n  %s\nwant:\n  %s\nmessages:\n%s",
					strings.Join(got, "\n  "), strings.Join(c.Expected, "\n  "), messages(res.Findings))
			}
			for _, f := range res.Findings {
				if strings.TrimSpace(f.Message) == "" {
					t.Errorf("%s:%d %s: empty message", f.Path, f.Line, f.Rule)
				}
			}
		})
	}
}

// Format renders findings as sorted "path:line rule" lines.
func Format(fs []axes.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s:%d %s", f.Path, f.Line, f.Rule))
	}
	sort.Strings(out)
	return out
}

// formatLike renders findings as Format does, adding the severity to a
// finding when the expected line for it names one.
func formatLike(fs []axes.Finding, expected []string) []string {
	withSev := map[string]bool{}
	for _, e := range expected {
		if f := strings.Fields(e); len(f) == 3 {
			withSev[f[0]+" "+f[1]] = true
		}
	}
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		key := fmt.Sprintf("%s:%d %s", f.Path, f.Line, f.Rule)
		if withSev[key] {
			key += " " + string(f.Severity)
		}
		out = append(out, key)
	}
	sort.Strings(out)
	return out
}

func messages(fs []axes.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s:%d-%d %s [%s] %s\n", f.Path, f.Line, f.EndLine, f.Rule, f.Severity, f.Message)
	}
	return b.String()
}
