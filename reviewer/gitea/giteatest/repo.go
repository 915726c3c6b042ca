package giteatest

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"
)

// Repo is a fresh repository on the server, owned by the admin, with the
// bot as a write collaborator, and a local clone (Dir) to commit and push
// from as the admin.
type Repo struct {
	TB       testing.TB
	Srv      *Server
	Admin    *sdk.Client
	FullName string // owner/name
	Owner    string
	Name     string
	Dir      string // the local clone
}

var repoSeq atomic.Int64

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// NewRepo creates a repository named after the test, adds the bot as a
// write collaborator (Gitea refuses commit statuses from readers), and
// pushes one commit to main: a tiny Go module (go.mod and main.go).
func (s *Server) NewRepo(tb testing.TB) *Repo {
	tb.Helper()
	r := &Repo{TB: tb, Srv: s, Admin: s.Admin(tb), Owner: s.AdminUser}
	name := strings.ToLower(unsafeChars.ReplaceAllString(tb.Name(), "-"))
	if len(name) > 60 {
		name = name[:60]
	}
	r.Name = fmt.Sprintf("%s-%d", strings.Trim(name, "-"), repoSeq.Add(1))
	r.FullName = r.Owner + "/" + r.Name
	if _, _, err := r.Admin.CreateRepo(sdk.CreateRepoOption{Name: r.Name, DefaultBranch: "main"}); err != nil {
		tb.Fatalf("create repo: %v", err)
	}
	write := sdk.AccessModeWrite
	if _, err := r.Admin.AddCollaborator(r.Owner, r.Name, s.BotUser, sdk.AddCollaboratorOption{Permission: &write}); err != nil {
		tb.Fatalf("add bot as collaborator: %v", err)
	}
	r.Dir = tb.TempDir()
	r.Git("init", "-q", "-b", "main")
	r.Git("remote", "add", "origin", r.RemoteURL())
	r.Write("go.mod", "module example.com/app\n\ngo 1.22\n")
	r.Write("main.go", "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n")
	r.Commit("initial commit")
	r.Git("push", "-q", "origin", "main")
	return r
}

// RemoteURL is the HTTP URL of the repository with the admin's credentials.
func (r *Repo) RemoteURL() string {
	u := strings.Replace(r.Srv.URL, "://", fmt.Sprintf("://%s:%s@", r.Srv.AdminUser, r.Srv.AdminToken), 1)
	return u + "/" + r.FullName + ".git"
}

// Git runs the git CLI in the clone and returns its trimmed output.
func (r *Repo) Git(args ...string) string {
	r.TB.Helper()
	return Git(r.TB, r.Dir, args...)
}

// Git runs the git CLI in dir with a fixed author and no user or system
// configuration, and returns its trimmed output.
func Git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Test Author", "GIT_COMMITTER_EMAIL=author@example.com")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// Write writes a file of the clone, creating its directories.
func (r *Repo) Write(path, content string) {
	r.TB.Helper()
	p := filepath.Join(r.Dir, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.TB.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.TB.Fatal(err)
	}
}

// Commit commits everything and returns the new HEAD.
func (r *Repo) Commit(msg string) string {
	r.TB.Helper()
	r.Git("add", "-A")
	r.Git("commit", "-q", "--allow-empty", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// Branch creates (or resets) branch name at from and checks it out.
func (r *Repo) Branch(name, from string) {
	r.TB.Helper()
	r.Git("checkout", "-q", "-B", name, from)
}

// Push force-pushes branch to the server.
func (r *Repo) Push(branch string) {
	r.TB.Helper()
	r.Git("push", "-q", "-f", "origin", branch+":"+branch)
}

// OpenPR opens a PR from head into base as the admin, waits until Gitea
// reports its head, and returns its number and head SHA.
func (r *Repo) OpenPR(head, base, title string) (int64, string) {
	r.TB.Helper()
	// Gitea records pushed branches asynchronously: retry while it says 404.
	var pr *sdk.PullRequest
	deadline := time.Now().Add(30 * time.Second)
	for {
		var (
			resp *sdk.Response
			err  error
		)
		pr, resp, err = r.Admin.CreatePullRequest(r.Owner, r.Name, sdk.CreatePullRequestOption{Head: head, Base: base, Title: title, Body: "test PR"})
		if err == nil {
			break
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			r.TB.Fatalf("create PR: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sha := r.Git("rev-parse", head)
	r.WaitHead(pr.Index, sha)
	return pr.Index, sha
}

// WaitHead waits until Gitea reports sha as the head of PR n.
func (r *Repo) WaitHead(n int64, sha string) {
	r.TB.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pr, _, err := r.Admin.GetPullRequest(r.Owner, r.Name, n)
		if err == nil && pr.Head != nil && pr.Head.Sha == sha {
			return
		}
		if time.Now().After(deadline) {
			r.TB.Fatalf("PR #%d head is not %s after 30s (err %v)", n, sha, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Status returns the latest commit status with context ctx on sha, or nil.
func (r *Repo) Status(sha, ctx string) *sdk.Status {
	r.TB.Helper()
	ss, _, err := r.Admin.ListStatuses(r.Owner, r.Name, sha, sdk.ListStatusesOption{})
	if err != nil {
		r.TB.Fatalf("list statuses: %v", err)
	}
	var latest *sdk.Status
	for _, s := range ss {
		if s.Context == ctx && (latest == nil || s.ID > latest.ID) {
			latest = s
		}
	}
	return latest
}

// Reviews lists all reviews of PR n (of every user).
func (r *Repo) Reviews(n int64) []*sdk.PullReview {
	r.TB.Helper()
	rs, _, err := r.Admin.ListPullReviews(r.Owner, r.Name, n, sdk.ListPullReviewsOptions{ListOptions: sdk.ListOptions{PageSize: 50}})
	if err != nil {
		r.TB.Fatalf("list reviews: %v", err)
	}
	return rs
}

// Comments lists the comments of PR (issue) n.
func (r *Repo) Comments(n int64) []*sdk.Comment {
	r.TB.Helper()
	cs, _, err := r.Admin.ListIssueComments(r.Owner, r.Name, n, sdk.ListIssueCommentOptions{ListOptions: sdk.ListOptions{PageSize: 50}})
	if err != nil {
		r.TB.Fatalf("list comments: %v", err)
	}
	return cs
}

// AddWebhook registers a real Gitea webhook of the repository that sends
// pull_request and issue_comment events, signed with secret, to url.
func (r *Repo) AddWebhook(url, secret string) {
	r.TB.Helper()
	_, _, err := r.Admin.CreateRepoHook(r.Owner, r.Name, sdk.CreateHookOption{
		Type:   sdk.HookTypeGitea,
		Active: true,
		Events: []string{"pull_request", "issue_comment"},
		Config: map[string]string{"url": url, "content_type": "json", "secret": secret},
	})
	if err != nil {
		r.TB.Fatalf("create webhook: %v", err)
	}
}

var userSeq atomic.Int64

// NewUser creates a user named prefix-<n> with password "user-pass-123"
// (no password change required) and returns its name.
func (s *Server) NewUser(tb testing.TB, prefix string) string {
	tb.Helper()
	name := fmt.Sprintf("%s-%d", prefix, userSeq.Add(1))
	no := false
	if _, _, err := s.Admin(tb).AdminCreateUser(sdk.CreateUserOption{Username: name, Email: name + "@example.com", Password: "user-pass-123", MustChangePassword: &no}); err != nil {
		tb.Fatalf("create user %s: %v", name, err)
	}
	return name
}
