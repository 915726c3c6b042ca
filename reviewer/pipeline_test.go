package reviewer_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
	"github.com/fiveaxis/fiveaxis/gitops"
	"github.com/fiveaxis/fiveaxis/reviewer"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testCheckers report on fixed patterns of the head files, so that tests can
// steer findings with file content.
func testCheckers() []*axes.Checker {
	marker := func(name string, sev axes.Severity, word string) *axes.Checker {
		axis, _, _ := strings.Cut(name, "/")
		return &axes.Checker{
			Name: name, Axis: axes.Axis(axis), Severity: sev,
			Doc: fmt.Sprintf("Reports lines containing %q. Test only.", word),
			Run: func(_ context.Context, p *axes.Pass) error {
				for _, f := range p.ChangedFiles() {
					data, err := p.Head.ReadFile(f.NewPath)
					if err != nil {
						return err
					}
					for i, l := range strings.Split(string(data), "\n") {
						if strings.Contains(l, word) {
							// A trailing "// WORD" comment has a mechanical fix.
							fix, _ := strings.CutSuffix(l, " // "+word)
							if fix == l {
								fix = ""
							}
							p.Report(axes.Finding{Path: f.NewPath, Line: i + 1, Message: "found " + word + " here; remove it.", Suggestion: fix})
						}
					}
				}
				return nil
			},
		}
	}
	return []*axes.Checker{
		marker("correctness/bug", axes.SeverityError, "BUG"),
		marker("readability/nit", axes.SeverityWarning, "NIT"),
		marker("security/secret", axes.SeverityError, "SECRET"),
		marker("performance/slow", axes.SeverityInfo, "SLOW"),
		{Name: "architecture/broken", Axis: axes.Architecture, Severity: axes.SeverityWarning, Doc: "Fails when BROKEN is in the PR title.",
			Run: func(_ context.Context, p *axes.Pass) error {
				if strings.Contains(p.PR.Title, "BROKEN") {
					return errors.New("cannot check")
				}
				return nil
			}},
	}
}

type bundle struct {
	dir  string
	repo *gitops.Repo
}

// setup builds a repository: main with base files, pr with head files, and
// then `behind` commits on main (one of them writing target files, if any).
func setup(t testing.TB, base, head, target map[string]string, behind int) *bundle {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) { axestest.Git(t, dir, args...) }
	write := func(files map[string]string) {
		for p, s := range files {
			full := filepath.Join(dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	git("init", "-q", "-b", "main")
	write(base)
	git("add", "-A")
	git("commit", "-q", "-m", "base")
	git("checkout", "-q", "-b", "pr")
	write(head)
	git("add", "-A")
	git("commit", "-q", "--allow-empty", "-m", "head")
	git("checkout", "-q", "main")
	for i := 0; i < behind; i++ {
		if i == 0 && len(target) > 0 {
			write(target)
		} else {
			write(map[string]string{"CHANGELOG": strings.Repeat("x\n", i+1)})
		}
		git("add", "-A")
		git("commit", "-q", "-m", fmt.Sprintf("main %d", i))
	}
	git("checkout", "-q", "pr")
	repo, err := gitops.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	return &bundle{dir: dir, repo: repo}
}

var goBase = map[string]string{
	"go.mod":     "module example.com/x\n\ngo 1.22\n",
	"app/app.go": "// Package app does things.\npackage app\n\n// Run runs.\nfunc Run() int {\n\treturn 1\n}\n",
}

func TestReviewScenarios(t *testing.T) {
	tests := []struct {
		name        string
		head        map[string]string
		target      map[string]string
		behind      int
		title       string
		wantVerdict reviewer.Verdict
		wantStatus  map[axes.Axis]reviewer.Status
	}{
		{
			name:        "approve",
			head:        map[string]string{"app/app.go": "// Package app does things.\npackage app\n\n// Run runs.\nfunc Run() int {\n\treturn 2 // NIT\n}\n\n// Slow is SLOW.\nfunc Slow() {}\n"},
			wantVerdict: reviewer.VerdictApprove,
			wantStatus:  map[axes.Axis]reviewer.Status{axes.Correctness: reviewer.StatusPass, axes.Readability: reviewer.StatusPass},
		},
		{
			name:        "request_changes",
			head:        map[string]string{"app/app.go": "// Package app does things.\npackage app\n\n// Run runs.\nfunc Run() int {\n\treturn 0 // BUG\n}\n", "app/key.go": "package app\n\nconst key = \"SECRET\"\n"},
			wantVerdict: reviewer.VerdictRequestChanges,
			wantStatus:  map[axes.Axis]reviewer.Status{axes.Correctness: reviewer.StatusFail, axes.Security: reviewer.StatusFail, axes.Readability: reviewer.StatusPass},
		},
		{
			name:        "needs_rebase_behind",
			head:        map[string]string{"app/new.go": "package app\n\n// BUG\n"},
			behind:      5,
			wantVerdict: reviewer.VerdictNeedsRebase,
		},
		{
			name:        "needs_rebase_conflict",
			head:        map[string]string{"app/app.go": "// Package app does things.\npackage app\n\n// Run runs.\nfunc Run() int {\n\treturn 2\n}\n"},
			target:      map[string]string{"app/app.go": "// Package app does things.\npackage app\n\n// Run runs.\nfunc Run() int {\n\treturn 3\n}\n"},
			behind:      1,
			wantVerdict: reviewer.VerdictNeedsRebase,
		},
		{
			name:        "comment_when_a_check_fails",
			head:        map[string]string{"app/app.go": "// Package app does things.\npackage app\n\n// Run runs.\nfunc Run() int {\n\treturn 2\n}\n"},
			title:       "BROKEN title",
			wantVerdict: reviewer.VerdictComment,
			wantStatus:  map[axes.Axis]reviewer.Status{axes.Architecture: reviewer.StatusNA},
		},
		{
			name:        "empty_diff",
			head:        map[string]string{},
			wantVerdict: reviewer.VerdictApprove,
			wantStatus:  map[axes.Axis]reviewer.Status{axes.Correctness: reviewer.StatusNA},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setup(t, goBase, tt.head, tt.target, tt.behind)
			req := reviewer.Request{BaseRef: "main", HeadRef: "pr"}
			if tt.title != "" {
				req.PR = &reviewer.PullRequest{Repo: "acme/app", Number: 7, Title: tt.title}
			}
			cs := testCheckers()
			rv, err := reviewer.Run(context.Background(), b.repo, req, reviewer.Options{Checkers: cs, MaxBehind: 3, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if rv.Verdict != tt.wantVerdict {
				t.Errorf("verdict = %s, want %s", rv.Verdict, tt.wantVerdict)
			}
			for axis, want := range tt.wantStatus {
				if got := rv.Axis(axis).Status; got != want {
					t.Errorf("%s status = %s, want %s (%s)", axis, got, want, rv.Axis(axis).Summary)
				}
			}
			if rv.Drift.Behind != tt.behind {
				t.Errorf("behind = %d, want %d", rv.Drift.Behind, tt.behind)
			}
			if gotConflict := len(rv.Drift.Conflicts) > 0; gotConflict != (tt.name == "needs_rebase_conflict") {
				t.Errorf("conflicts = %v", rv.Drift.Conflicts)
			}
			golden(t, tt.name, rv, cs)
		})
	}
}

// golden compares the three renderings with testdata/golden; -update
// rewrites them.
func golden(t *testing.T, name string, rv *reviewer.Review, cs []*axes.Checker) {
	t.Helper()
	for ext, render := range map[string]func(*bytes.Buffer) error{
		"md":    func(b *bytes.Buffer) error { return reviewer.WriteMarkdown(b, rv) },
		"json":  func(b *bytes.Buffer) error { return reviewer.WriteJSON(b, rv) },
		"sarif": func(b *bytes.Buffer) error { return reviewer.WriteSARIF(b, rv, cs) },
	} {
		var buf bytes.Buffer
		if err := render(&buf); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join("testdata", "golden", name+"."+ext)
		if *update {
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", file, buf.String())
		}
	}
}

func TestRepoConfigFromTargetOnly(t *testing.T) {
	base := map[string]string{
		"go.mod":        goBase["go.mod"],
		".fiveaxis.yml": "disable: [readability/nit]\nseverity:\n  security/secret: warning\n",
	}
	head := map[string]string{
		".fiveaxis.yml": "disable: [correctness, security]\n",
		"a.go":          "package a // BUG NIT SECRET\n",
	}
	b := setup(t, base, head, nil, 0)
	rv, err := reviewer.Run(context.Background(), b.repo, reviewer.Request{BaseRef: "main", HeadRef: "pr"}, reviewer.Options{Checkers: testCheckers()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range rv.Findings() {
		got = append(got, f.Rule+":"+string(f.Severity))
	}
	want := "correctness/bug:error,security/secret:warning"
	if strings.Join(got, ",") != want {
		t.Errorf("findings = %v, want %s (the head's .fiveaxis.yml must not apply)", got, want)
	}
}

func TestRunErrors(t *testing.T) {
	b := setup(t, goBase, map[string]string{"x": "y\n"}, nil, 0)
	_, err := reviewer.Run(context.Background(), b.repo, reviewer.Request{BaseRef: "nope", HeadRef: "pr"}, reviewer.Options{Checkers: testCheckers()})
	if !errors.Is(err, gitops.ErrUnknownRevision) {
		t.Errorf("unknown base: err = %v", err)
	}
	bad := setup(t, map[string]string{".fiveaxis.yml": "disable: [readability/nit]\nbogus: 1\n"}, map[string]string{"x": "y\n"}, nil, 0)
	_, err = reviewer.Run(context.Background(), bad.repo, reviewer.Request{BaseRef: "main", HeadRef: "pr"}, reviewer.Options{Checkers: testCheckers()})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad repo config: err = %v, want the line named", err)
	}
}

func TestParseRepoConfig(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"", ""},
		{"max_func_lines: 60\nlayers:\n  - from: internal/store\n    deny: [internal/http/...]\n", ""},
		{"severity:\n  correctness/x: fatal\n", "line 1"},
		{"disable: [nosuchaxis/x]\n", "unknown axis"},
		{"max_nesting: -1\n", "must not be negative"},
		{"\n\nunknown_key: true\n", "line 3"},
		{"layers:\n  - from: a\n", "needs from and deny"},
	}
	for _, tt := range tests {
		_, err := reviewer.ParseRepoConfig([]byte(tt.in))
		if tt.wantErr == "" && err != nil {
			t.Errorf("%q: %v", tt.in, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%q: err = %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}
