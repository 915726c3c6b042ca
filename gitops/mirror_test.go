package gitops

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitHTTPServer serves the repositories under root over smart HTTP with git
// http-backend, asking for basic auth with password token.
func gitHTTPServer(tb testing.TB, root, home, token string) *httptest.Server {
	tb.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		tb.Skip("git CLI not installed")
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + home},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, pass, ok := req.BasicAuth(); !ok || pass != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, req)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestMirrorFetch(t *testing.T) {
	ctx := context.Background()
	src := newTestRepo(t)
	src.write("a.txt", lines("a", 20))
	src.commit("base")
	src.git("checkout", "-q", "-b", "feature")
	src.write("a.txt", strings.Replace(lines("a", 20), "a line 3\n", "pr 3\n", 1))
	src.commit("pr work")
	src.git("update-ref", "refs/pull/7/head", "feature")
	src.git("checkout", "-q", "main")
	src.write("b.txt", "b\n")
	src.commit("main work")
	src.git("branch", "unrelated")

	root := t.TempDir()
	src.git("clone", "-q", "--bare", src.dir, filepath.Join(root, "origin.git"))
	src.git("--git-dir", filepath.Join(root, "origin.git"), "update-ref", "refs/pull/7/head", src.rev("feature"))
	srv := gitHTTPServer(t, root, src.home, "s3cret")
	remote := srv.URL + "/origin.git"

	dir := filepath.Join(t.TempDir(), "mirrors", "origin.git")
	repo, err := OpenMirror(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	specs := []string{"+refs/heads/main:refs/heads/main", "+refs/pull/7/head:refs/pull/7/head"}

	t.Run("bad token", func(t *testing.T) {
		if err := repo.Fetch(ctx, remote, "wrong", specs); !errors.Is(err, ErrAuth) {
			t.Errorf("Fetch with a wrong token: %v, want ErrAuth", err)
		}
	})
	t.Run("not http", func(t *testing.T) {
		if err := repo.Fetch(ctx, "file://"+filepath.Join(root, "origin.git"), "", specs); err == nil {
			t.Error("Fetch of a file:// remote succeeded")
		}
	})
	t.Run("fetch", func(t *testing.T) {
		if err := repo.Fetch(ctx, remote, "s3cret", specs); err != nil {
			t.Fatal(err)
		}
		for ref, want := range map[string]string{"main": src.rev("main"), "refs/pull/7/head": src.rev("feature")} {
			if got, err := repo.Resolve(ref); err != nil || got != want {
				t.Errorf("Resolve(%s) = %s, %v; want %s", ref, got, err, want)
			}
		}
		if _, err := repo.Resolve("unrelated"); !errors.Is(err, ErrUnknownRevision) {
			t.Errorf("a ref outside the refspecs was fetched: %v", err)
		}
		if _, err := repo.dotgit.Stat(commitGraphPath); err != nil {
			t.Errorf("no commit-graph after fetch: %v", err)
		}
		d, err := repo.ComputeDrift(ctx, "main", "refs/pull/7/head")
		if err != nil || d.Behind != 1 || d.Ahead != 1 {
			t.Errorf("ComputeDrift = %+v, %v", d, err)
		}
	})
	t.Run("up to date", func(t *testing.T) {
		if err := repo.Fetch(ctx, remote, "s3cret", specs); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("new commits", func(t *testing.T) {
		src.write("c.txt", "c\n")
		c := src.commit("more main work")
		src.git("push", "-q", filepath.Join(root, "origin.git"), "main")
		var progress bytes.Buffer
		if err := repo.Fetch(ctx, remote, "s3cret", specs[:1], WithProgress(&progress)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(progress.String(), "objects") {
			t.Errorf("no progress from the server: %q", progress.String())
		}
		if got, _ := repo.Resolve("main"); got != c {
			t.Errorf("main = %s; want %s", got, c)
		}
		// The commit-graph was extended, and git agrees with it.
		mirror := &testRepo{tb: t, dir: dir, home: src.home}
		if _, code := mirror.gitStatus("commit-graph", "verify"); code != 0 {
			t.Error("git commit-graph verify failed")
		}
		if repo.nodes().file == nil {
			t.Fatal("commit-graph not used")
		}
		if _, err := repo.nodes().file.GetIndexByHash(plumbingHash(c)); err != nil {
			t.Errorf("new commit missing from the commit-graph: %v", err)
		}
		d, err := repo.ComputeDrift(ctx, "main", "refs/pull/7/head")
		if err != nil || d.Behind != 2 || d.Ahead != 1 {
			t.Errorf("ComputeDrift = %+v, %v", d, err)
		}
	})
	t.Run("reopen", func(t *testing.T) {
		again, err := OpenMirror(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if _, err := again.Resolve("refs/pull/7/head"); err != nil {
			t.Error(err)
		}
	})
}
