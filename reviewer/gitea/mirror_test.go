package gitea_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
)

func TestMirrorPath(t *testing.T) {
	m := gitea.NewMirrors("/data/mirrors", "", nil, nil)
	if p, err := m.Path("owner/repo.name"); err != nil || p != filepath.Join("/data/mirrors", "owner", "repo.name.git") {
		t.Errorf("Path = %q, %v", p, err)
	}
	for _, bad := range []string{"../x", "o/..", "o/r/s", "o", "/r", "o/r x", "o/.", ""} {
		if p, err := m.Path(bad); err == nil {
			t.Errorf("Path(%q) = %q, want an error", bad, p)
		}
	}
}

// Prune removes mirrors idle for longer than the limit and keeps the others.
func TestMirrorPrune(t *testing.T) {
	dir := t.TempDir()
	m := gitea.NewMirrors(dir, "", nil, nil)
	old := time.Now().Add(-48 * time.Hour)
	for _, r := range []string{"a/old", "a/new", "b/old2"} {
		p, _ := m.Path(r)
		if err := os.MkdirAll(filepath.Join(p, "objects"), 0o755); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(r, "old") {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	removed, err := m.Prune(24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(removed, ",") != "a/old,b/old2" {
		t.Errorf("removed %v", removed)
	}
	if _, err := os.Stat(filepath.Join(dir, "a", "new.git")); err != nil {
		t.Errorf("the recent mirror is gone: %v", err)
	}
	if removed, _ := gitea.NewMirrors(filepath.Join(dir, "missing"), "", nil, nil).Prune(time.Hour); len(removed) != 0 {
		t.Errorf("pruned %v in a missing dir", removed)
	}
}

// A mirror is fetched from the real server with the bot's token, and a
// second job on the same repository waits for the first to release it.
func TestE2EMirrorLock(t *testing.T) {
	f := setup(t, 0)
	f.branch("feature", "main")
	f.write("g.go", "package main\n\n// G is g.\nconst G = 1\n")
	f.commit("g")
	f.push("feature")
	n, head := f.openPR("feature", "main", "G")
	pr, err := f.client.PullRequest(f.ctx, f.repo, n)
	if err != nil {
		t.Fatal(err)
	}
	repo, release, err := f.mirrors.Open(f.ctx, pr)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := repo.Resolve("refs/pull/1/head"); err != nil || got != head {
		t.Errorf("refs/pull/1/head = %s, %v; want %s", got, err, head)
	}
	if _, err := repo.Resolve("main"); err != nil {
		t.Errorf("main not fetched: %v", err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, 300*time.Millisecond)
	defer cancel()
	if _, _, err := f.mirrors.Open(ctx, pr); err == nil {
		t.Fatal("a second Open got the locked mirror")
	}
	release()
	repo2, release2, err := f.mirrors.Open(f.ctx, pr)
	if err != nil {
		t.Fatalf("Open after release: %v", err)
	}
	release2()
	_ = repo2
	// A bad token is an error of the fetch that is not worth retrying: it
	// wraps reviewer.ErrUnauthorized, and the bot gives up on the job.
	bad := gitea.NewMirrors(t.TempDir(), "0000000000000000000000000000000000000000", f.client.CloneURL, nil)
	_, _, err = bad.Open(f.ctx, &reviewer.PRState{Repo: f.repo, Number: n, BaseRef: "main"})
	var re *reviewer.RetryableError
	if !errors.Is(err, reviewer.ErrUnauthorized) || errors.As(err, &re) {
		t.Errorf("fetch with a bad token: %v; want reviewer.ErrUnauthorized, not retryable", err)
	}
	bot := reviewer.NewBot(f.client, bad.Open, f.opts, f.log, "test")
	out, err := bot.Process(f.ctx, reviewer.Job{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head, Reason: "test"})
	if err != nil || out != reviewer.OutcomeNoAccess {
		t.Errorf("bot with a bad fetch token: %s, %v; want %s and no error", out, err, reviewer.OutcomeNoAccess)
	}
}
