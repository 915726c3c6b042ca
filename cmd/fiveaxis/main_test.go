package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/fiveaxis/fiveaxis/axes/axestest"
)

// runCLI runs the CLI in process with an empty environment plus env.
func runCLI(t testing.TB, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	code = run(args, &out, &errb, getenv)
	return code, out.String(), errb.String()
}

func gitOut(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return axestest.Git(t, dir, args...)
}

// shortstat parses `git diff --shortstat` output.
func shortstat(t testing.TB, s string) [3]int {
	t.Helper()
	var out [3]int
	for i, re := range []string{`(\d+) files? changed`, `(\d+) insertions?`, `(\d+) deletions?`} {
		if m := regexp.MustCompile(re).FindStringSubmatch(s); m != nil {
			out[i], _ = strconv.Atoi(m[1])
		}
	}
	return out
}

type contract struct {
	Schema    int    `json:"schema"`
	Verdict   string `json:"verdict"`
	Base      struct{ Ref, SHA string }
	Head      struct{ Ref, SHA string }
	MergeBase string `json:"merge_base"`
	Diff      stat   `json:"diff"`
	Drift     struct {
		Behind    int      `json:"behind"`
		Ahead     int      `json:"ahead"`
		VsTarget  stat     `json:"vs_target"`
		Conflicts []string `json:"conflicts"`
	} `json:"drift"`
	Axes []struct {
		Axis     string `json:"axis"`
		Status   string `json:"status"`
		Summary  string `json:"summary"`
		Findings []struct {
			Rule, Severity, Path, Message, Source string
			Line                                  int `json:"line"`
			EndLine                               int `json:"end_line"`
		} `json:"findings"`
	} `json:"axes"`
}

type stat struct {
	FilesChanged int `json:"files_changed"`
	Insertions   int `json:"insertions"`
	Deletions    int `json:"deletions"`
}

func (s stat) arr() [3]int { return [3]int{s.FilesChanged, s.Insertions, s.Deletions} }

// decodeContract decodes strictly: any field outside the contract fails.
func decodeContract(t testing.TB, out string) contract {
	t.Helper()
	var c contract
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("decode: %v\n%s", err, out)
	}
	if c.Schema != 1 {
		t.Errorf("schema = %d", c.Schema)
	}
	var axes []string
	for _, a := range c.Axes {
		axes = append(axes, a.Axis)
		if a.Status != "pass" && a.Status != "fail" && a.Status != "na" {
			t.Errorf("axis %s status %q", a.Axis, a.Status)
		}
		if a.Summary == "" {
			t.Errorf("axis %s has no summary", a.Axis)
		}
		for _, f := range a.Findings {
			if !strings.HasPrefix(f.Rule, a.Axis+"/") || f.Line < 0 || f.EndLine < f.Line || f.Message == "" {
				t.Errorf("bad finding %+v", f)
			}
		}
	}
	if strings.Join(axes, ",") != "correctness,readability,architecture,security,performance" {
		t.Errorf("axes = %v", axes)
	}
	return c
}

// checkAgainstGit compares the review's figures with the git CLI's.
func checkAgainstGit(t *testing.T, dir, base, head string, c contract) {
	t.Helper()
	if got, want := c.MergeBase, gitOut(t, dir, "merge-base", base, head); got != want {
		t.Errorf("merge_base = %s, git says %s", got, want)
	}
	if got, want := c.Head.SHA, gitOut(t, dir, "rev-parse", head); got != want {
		t.Errorf("head sha = %s, git says %s", got, want)
	}
	lr := strings.Fields(gitOut(t, dir, "rev-list", "--left-right", "--count", base+"..."+head))
	behind, _ := strconv.Atoi(lr[0])
	ahead, _ := strconv.Atoi(lr[1])
	if c.Drift.Behind != behind || c.Drift.Ahead != ahead {
		t.Errorf("behind/ahead = %d/%d, git says %d/%d", c.Drift.Behind, c.Drift.Ahead, behind, ahead)
	}
	if got, want := c.Diff.arr(), shortstat(t, gitOut(t, dir, "diff", "--shortstat", c.MergeBase, head)); got != want {
		t.Errorf("diff = %v, git says %v", got, want)
	}
	if got, want := c.Drift.VsTarget.arr(), shortstat(t, gitOut(t, dir, "diff", "--shortstat", base, head)); got != want {
		t.Errorf("vs_target = %v, git says %v", got, want)
	}
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
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

// setupRepo builds a repository with a PR branch and a target that moved on.
func setupRepo(t testing.TB, behind int) string {
	t.Helper()
	dir := t.TempDir()
	g := func(args ...string) { gitOut(t, dir, args...) }
	g("init", "-q", "-b", "main")
	writeFiles(t, dir, map[string]string{
		"go.mod":       "module example.com/demo\n\ngo 1.22\n",
		"calc/calc.go": "// Package calc adds.\npackage calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n",
		"logo.png":     "\x89PNG\x00\x01\x02",
	})
	g("add", "-A")
	g("commit", "-q", "-m", "base")
	g("checkout", "-q", "-b", "pr")
	writeFiles(t, dir, map[string]string{
		"calc/calc.go": "// Package calc adds.\npackage calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n\n// Sub subtracts.\nfunc Sub(a, b int) int { return a - b }\n",
		"logo.png":     "\x89PNG\x00\x03\x04",
	})
	g("mv", "go.mod", "go.mod.tmp")
	g("mv", "go.mod.tmp", "go.mod")
	g("add", "-A")
	g("commit", "-q", "-m", "sub")
	g("checkout", "-q", "main")
	for i := 0; i < behind; i++ {
		writeFiles(t, dir, map[string]string{"NOTES": strings.Repeat("n\n", i+1)})
		g("add", "-A")
		g("commit", "-q", "-m", "note")
	}
	g("checkout", "-q", "pr")
	return dir
}

func TestReviewJSONMatchesGit(t *testing.T) {
	tests := []struct {
		name      string
		behind    int
		args      []string
		wantCode  int
		wantVerdi string
	}{
		{"fresh", 0, nil, 0, "approve"},
		{"behind_under_limit", 3, nil, 0, "approve"},
		{"behind_over_flag", 3, []string{"--max-behind", "2"}, 1, "needs_rebase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := setupRepo(t, tt.behind)
			args := append([]string{"review", "--repo", dir, "--base", "main", "--head", "pr", "--format", "json", "--no-llm"}, tt.args...)
			code, out, errOut := runCLI(t, nil, args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			c := decodeContract(t, out)
			if c.Verdict != tt.wantVerdi {
				t.Errorf("verdict = %s, want %s", c.Verdict, tt.wantVerdi)
			}
			checkAgainstGit(t, dir, "main", "pr", c)
		})
	}
}

func TestReviewThisRepository(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	first := strings.Fields(gitOut(t, root, "rev-list", "--max-parents=0", "HEAD"))
	base := first[len(first)-1]
	code, out, errOut := runCLI(t, nil, "review", "--repo", root, "--base", base, "--head", "HEAD", "--format", "json", "--no-llm")
	if code != 0 && code != 1 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	c := decodeContract(t, out)
	checkAgainstGit(t, root, base, "HEAD", c)
}

func TestReviewErrors(t *testing.T) {
	dir := setupRepo(t, 0)
	badCfg := filepath.Join(t.TempDir(), "bad.yaml")
	writeFiles(t, filepath.Dir(badCfg), map[string]string{"bad.yaml": "review:\n  max_behind: 5\n  nonsense: 1\n"})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown ref", []string{"--repo", dir, "--base", "nope"}, "unknown revision"},
		{"not a repository", []string{"--repo", t.TempDir()}, "not a git repository"},
		{"unreadable config", []string{"--repo", dir, "--config", "/nonexistent/fiveaxis.yaml"}, "no such file"},
		{"bad config", []string{"--repo", dir, "--config", badCfg}, "line 3"},
		{"bad format", []string{"--repo", dir, "--format", "xml"}, "unknown --format"},
		{"bad filter", []string{"--repo", dir, "--filter", "lines"}, "unknown filter mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, append([]string{"review"}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout should be empty, got %q", out)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if len(lines) != 1 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "goroutine") {
				t.Errorf("stderr = %q, want one line containing %q", errOut, tt.want)
			}
		})
	}
}

func TestDefaultBase(t *testing.T) {
	dir := setupRepo(t, 2)
	// No --base: main is the default when there is no remote.
	code, out, errOut := runCLI(t, nil, "review", "--repo", dir, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if c := decodeContract(t, out); c.Base.Ref != "main" || c.Drift.Behind != 2 {
		t.Errorf("base = %+v behind = %d", c.Base, c.Drift.Behind)
	}
	// With a remote whose HEAD points at trunk, trunk is the default.
	clone := t.TempDir()
	gitOut(t, dir, "branch", "trunk", "pr")
	cmd := exec.Command("git", "clone", "-q", "--branch", "trunk", dir, clone)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clone: %v %s", err, out)
	}
	gitOut(t, clone, "remote", "set-head", "origin", "trunk")
	code, out, errOut = runCLI(t, nil, "review", "--repo", clone, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if c := decodeContract(t, out); c.Base.Ref != "origin/trunk" {
		t.Errorf("base = %+v, want origin/trunk", c.Base)
	}
}

func TestHelpDescribesEveryFlag(t *testing.T) {
	code, out, _ := runCLI(t, nil, "review", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, flag := range []string{"--repo", "--base", "--head", "--format", "--no-llm", "--max-behind", "--config", "--filter"} {
		if !strings.Contains(out, flag) {
			t.Errorf("review --help does not mention %s", flag)
		}
	}
	code, out, _ = runCLI(t, nil, "--help")
	if code != 0 || !strings.Contains(out, "review") || !strings.Contains(out, "rules") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

func TestSARIFAndMarkdown(t *testing.T) {
	dir := setupRepo(t, 0)
	code, out, errOut := runCLI(t, nil, "review", "--repo", dir, "--base", "main", "--head", "pr", "--format", "sarif")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct{ Driver struct{ Name string } } `json:"tool"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "fiveaxis" {
		t.Errorf("sarif: %v %+v", err, log)
	}
	code, out, _ = runCLI(t, nil, "review", "--repo", dir, "--base", "main", "--head", "pr")
	if code != 0 || !strings.Contains(out, "**Verdict: APPROVED**") || !strings.Contains(out, "Reviewed at head SHA `"+gitOut(t, dir, "rev-parse", "pr")+"`") {
		t.Errorf("markdown:\n%s", out)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "fiveaxis ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestRulesListsEveryRule(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "rules")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, c := range allCheckers() {
		if !strings.Contains(out, c.Name+" ") {
			t.Errorf("rules does not list %s", c.Name)
		}
	}
	for _, want := range []string{"correctness/vet-lostcancel", "security/sql-injection", "security/prompt-injection"} {
		if !strings.Contains(out, want) {
			t.Errorf("rules does not list %s", want)
		}
	}
	if len(lines) < len(allCheckers())+1 {
		t.Errorf("rules printed %d lines for %d checkers", len(lines), len(allCheckers()))
	}
}

// TestEveryRuleHasCases checks that each AST rule has at least one positive
// and one negative txtar case in its axis package's testdata.
func TestEveryRuleHasCases(t *testing.T) {
	for _, c := range allCheckers() {
		axis, rule, _ := strings.Cut(c.Name, "/")
		dir := filepath.Join("..", "..", "axes", axis, "testdata")
		for _, kind := range []string{"pos", "neg"} {
			m, _ := filepath.Glob(filepath.Join(dir, rule+"*_"+kind+".txtar"))
			if len(m) == 0 {
				t.Errorf("%s has no %s case (%s/%s*_%s.txtar)", c.Name, kind, dir, rule, kind)
			}
		}
	}
}

func TestAnalyzersFollowConfigAndFlag(t *testing.T) {
	dir := setupRepo(t, 0)
	off := filepath.Join(t.TempDir(), "off.yaml")
	if err := os.WriteFile(off, []byte("review:\n  disable_analyzers: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want bool // the analyzers' coverage note is present
	}{
		{"default on", nil, true},
		{"config off", []string{"--config", off}, false},
		{"flag wins over config", []string{"--config", off, "--analyzers=true"}, true},
		{"flag off", []string{"--analyzers=false"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"review", "--repo", dir, "--base", "main", "--head", "pr", "--format", "json"}, tt.args...)
			code, out, errOut := runCLI(t, nil, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if got := strings.Contains(out, `"analyzers:`) || strings.Contains(out, "type-checked analyzers skipped"); got != tt.want {
				t.Errorf("analyzers note present = %v, want %v\n%s", got, tt.want, out)
			}
		})
	}
}
