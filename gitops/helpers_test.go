package gitops

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// testRepo is a git repository built with the git CLI for a test.
type testRepo struct {
	tb   testing.TB
	dir  string
	home string
	tick int // commit clock, so that dates are fixed and increasing
}

// newTestRepo creates an empty repository with branch main.
func newTestRepo(tb testing.TB) *testRepo {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		tb.Skip("git CLI not installed")
	}
	root := tb.TempDir()
	r := &testRepo{tb: tb, dir: filepath.Join(root, "repo"), home: filepath.Join(root, "home")}
	if err := os.MkdirAll(r.home, 0o755); err != nil {
		tb.Fatal(err)
	}
	r.git("init", "-q", "-b", "main", r.dir)
	return r
}

// env is the environment of git commands: no system or user configuration
// and a fixed identity and clock.
func (r *testRepo) env() []string {
	date := fmt.Sprintf("%d +0000", 1700000000+r.tick*60)
	return append(os.Environ(),
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+r.home, "XDG_CONFIG_HOME="+r.home,
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_COMMITTER_DATE="+date,
		"LC_ALL=C",
	)
}

// gitStatus runs git in the repository and returns its output and exit code.
func (r *testRepo) gitStatus(args ...string) (string, int) {
	r.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	if args[0] == "init" {
		cmd.Dir = ""
	}
	cmd.Env = r.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		r.tb.Fatalf("git %v: %v", args, err)
	}
	return out.String(), 0
}

// git runs git in the repository and fails the test on error.
func (r *testRepo) git(args ...string) string {
	r.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	if args[0] == "init" {
		cmd.Dir = ""
	}
	cmd.Env = r.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// write writes files (path, content pairs) into the work tree.
func (r *testRepo) write(pathContent ...string) {
	r.tb.Helper()
	for i := 0; i+1 < len(pathContent); i += 2 {
		p := filepath.Join(r.dir, pathContent[i])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(pathContent[i+1]), 0o644); err != nil {
			r.tb.Fatal(err)
		}
	}
}

// commit stages everything and commits.
func (r *testRepo) commit(msg string) string {
	r.tb.Helper()
	r.tick++
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.rev("HEAD")
}

func (r *testRepo) rev(name string) string {
	r.tb.Helper()
	return strings.TrimSpace(r.git("rev-parse", name+"^{commit}"))
}

// open opens the repository with gitops.
func (r *testRepo) open() *Repo {
	r.tb.Helper()
	repo, err := Open(r.dir)
	if err != nil {
		r.tb.Fatalf("Open: %v", err)
	}
	r.tb.Cleanup(func() { _ = repo.Close() })
	return repo
}

var shortstatRe = regexp.MustCompile(`(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?`)

// gitShortstat is `git diff --shortstat from to`, parsed.
func (r *testRepo) gitShortstat(from, to string) Stat {
	r.tb.Helper()
	out := strings.TrimSpace(r.git("diff", "--shortstat", from, to))
	if out == "" {
		return Stat{}
	}
	m := shortstatRe.FindStringSubmatch(out)
	if m == nil {
		r.tb.Fatalf("cannot parse shortstat %q", out)
	}
	atoi := func(s string) int {
		n, _ := strconv.Atoi(s)
		return n
	}
	return Stat{FilesChanged: atoi(m[1]), Insertions: atoi(m[2]), Deletions: atoi(m[3])}
}

// gitCount is `git rev-list --left-right --count a...b`.
func (r *testRepo) gitCount(a, b string) (int, int) {
	r.tb.Helper()
	f := strings.Fields(r.git("rev-list", "--left-right", "--count", a+"..."+b))
	l, _ := strconv.Atoi(f[0])
	rr, _ := strconv.Atoi(f[1])
	return l, rr
}

// gitConflicts runs `git merge-tree --write-tree` and returns the
// conflicted paths (nil when the merge is clean).
func (r *testRepo) gitConflicts(ours, theirs string) []string {
	r.tb.Helper()
	out, code := r.gitStatus("merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs)
	switch code {
	case 0:
		return nil
	case 1:
		lines := strings.Split(strings.TrimSpace(out), "\n")
		seen := map[string]bool{}
		var paths []string
		for _, l := range lines[1:] {
			if l == "" {
				break
			}
			if !seen[l] {
				seen[l] = true
				paths = append(paths, l)
			}
		}
		return paths
	default:
		r.tb.Fatalf("git merge-tree: exit %d: %s", code, out)
		return nil
	}
}

// normalizeGitDiff blanks what may legitimately differ between our text and
// git's: abbreviated object names.
func normalizeGitDiff(s string) string {
	s = regexp.MustCompile(`(?m)^index [0-9a-f]+\.\.[0-9a-f]+`).ReplaceAllString(s, "index X..Y")
	return s
}

func plumbingHash(s string) plumbing.Hash { return plumbing.NewHash(s) }
