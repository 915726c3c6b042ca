// Package giteatest is for tests only: it starts one real Gitea server per
// test binary with ../shared/gitea/start-gitea.sh, and gives each test a
// fresh repository with a local clone, push helpers, pull requests opened as
// the admin, real webhooks, and signed webhook deliveries.
//
// Use it from TestMain, so that the server is stopped when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(giteatest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		srv := giteatest.Start(t) // started once, on first use; skipped with -short
//		repo := srv.NewRepo(t)
//		...
//	}
//
// The Gitea build is FIVEAXIS_GITEA_BIN (default
// ~/.cache/fiveaxis/gitea-bin), made with build-gitea.sh when missing; the
// scripts are in FIVEAXIS_SHARED/gitea (default ../shared/gitea beside the
// module's root).
package giteatest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "code.gitea.io/sdk/gitea"
)

// Server is a running Gitea with an admin user and a bot user, each with an
// all-scope token.
type Server struct {
	URL           string // base URL, without a trailing slash
	APIURL        string
	Port          string
	AdminUser     string
	AdminPassword string
	AdminToken    string
	BotUser       string
	BotPassword   string
	BotToken      string
	DataDir       string // Gitea's data directory (log in DataDir/log/gitea.log)

	scripts string
}

var (
	mainCalled bool
	startOnce  sync.Once
	shared     *Server
	startErr   error
)

// Main runs the tests of m and then stops the package's Gitea server, if a
// test started one. Call it from TestMain: os.Exit(giteatest.Main(m)).
func Main(m *testing.M) int {
	mainCalled = true
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// Start returns the test binary's Gitea server, starting it on first use.
// It skips the test in -short mode and fails it when the server cannot
// start. TestMain must call Main, which stops the server at the end.
func Start(tb testing.TB) *Server {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: no Gitea server")
	}
	if !mainCalled {
		tb.Fatal("giteatest.Start: call giteatest.Main from TestMain, so that the server is stopped")
	}
	startOnce.Do(func() { shared, startErr = StartServer() })
	if startErr != nil {
		tb.Fatalf("start Gitea: %v", startErr)
	}
	return shared
}

// StartServer starts a new Gitea server with its data in a temporary
// directory. The caller must call Stop.
func StartServer() (*Server, error) {
	scripts, err := scriptsDir()
	if err != nil {
		return nil, err
	}
	bin := os.Getenv("FIVEAXIS_GITEA_BIN")
	if bin == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(home, ".cache", "fiveaxis", "gitea-bin")
	}
	if _, err := os.Stat(filepath.Join(bin, "gitea")); err != nil {
		fmt.Fprintf(os.Stderr, "building Gitea into %s (about 10 minutes when cold)\n", bin)
		cmd := exec.Command("bash", filepath.Join(scripts, "build-gitea.sh"), bin)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build-gitea.sh: %w", err)
		}
	}
	data, err := os.MkdirTemp("", "fiveaxis-giteatest-")
	if err != nil {
		return nil, err
	}
	s := &Server{DataDir: data, scripts: scripts}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(scripts, "start-gitea.sh"), bin, "0", data)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("start-gitea.sh: %w\n%s", err, stderr.String())
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	s.URL, s.APIURL, s.Port = strings.TrimRight(kv["GITEA_URL"], "/"), kv["GITEA_API_URL"], kv["GITEA_PORT"]
	s.AdminUser, s.AdminPassword, s.AdminToken = kv["GITEA_ADMIN_USER"], kv["GITEA_ADMIN_PASSWORD"], kv["GITEA_ADMIN_TOKEN"]
	s.BotUser, s.BotPassword, s.BotToken = kv["GITEA_BOT_USER"], kv["GITEA_BOT_PASSWORD"], kv["GITEA_BOT_TOKEN"]
	if s.URL == "" || s.AdminToken == "" || s.BotToken == "" {
		s.Stop()
		return nil, fmt.Errorf("start-gitea.sh printed no URL or tokens:\n%s", out)
	}
	return s, nil
}

// Stop stops the server and removes its data (stop-gitea.sh --purge).
func (s *Server) Stop() {
	c := exec.Command("bash", filepath.Join(s.scripts, "stop-gitea.sh"), s.DataDir, "--purge")
	if o, err := c.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "stop-gitea.sh: %v\n%s", err, o)
	}
	_ = os.RemoveAll(s.DataDir)
}

// Admin returns an SDK client authenticated as the admin user.
func (s *Server) Admin(tb testing.TB) *sdk.Client {
	tb.Helper()
	c, err := sdk.NewClient(s.URL, sdk.SetToken(s.AdminToken))
	if err != nil {
		tb.Fatalf("admin client: %v", err)
	}
	return c
}

// scriptsDir finds ../shared/gitea: FIVEAXIS_SHARED/gitea, else the shared
// folder beside the module root (found from this source file, then from the
// working directory).
func scriptsDir() (string, error) {
	if d := os.Getenv("FIVEAXIS_SHARED"); d != "" {
		return filepath.Join(d, "gitea"), nil
	}
	var candidates []string
	if _, file, _, ok := runtime.Caller(0); ok {
		// reviewer/gitea/giteatest/giteatest.go -> module root
		candidates = append(candidates, filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "gitea"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			candidates = append(candidates, filepath.Join(d, "..", "shared", "gitea"))
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil || filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "start-gitea.sh")); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("giteatest: cannot find shared/gitea/start-gitea.sh: set FIVEAXIS_SHARED")
}
