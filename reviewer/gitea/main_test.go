package gitea_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// giteaEnv is the server the package's end-to-end tests share, started once
// by TestMain with ../shared/gitea/start-gitea.sh.
var giteaEnv struct {
	URL, APIURL, Port          string
	AdminUser, AdminToken      string
	AdminPassword              string
	BotUser, BotToken, DataDir string
}

// skipE2E is set when the end-to-end tests cannot run (-short).
var skipE2E string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		skipE2E = "-short: no Gitea server"
		os.Exit(m.Run())
	}
	stop, err := startGitea()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start Gitea: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// startGitea starts one Gitea server for the package and returns its stop
// function (stop-gitea.sh --purge).
func startGitea() (func(), error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return nil, err
	}
	shared := os.Getenv("FIVEAXIS_SHARED")
	if shared == "" {
		shared = filepath.Join(root, "..", "shared")
	}
	bin := os.Getenv("FIVEAXIS_GITEA_BIN")
	if bin == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(home, ".cache", "fiveaxis", "gitea-bin")
	}
	scripts := filepath.Join(shared, "gitea")
	if _, err := os.Stat(filepath.Join(bin, "gitea")); err != nil {
		fmt.Fprintf(os.Stderr, "building Gitea into %s (about 10 minutes when cold)\n", bin)
		cmd := exec.Command("bash", filepath.Join(scripts, "build-gitea.sh"), bin)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("build-gitea.sh: %w", err)
		}
	}
	data, err := os.MkdirTemp("", "fiveaxis-gitea-e2e-")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(scripts, "start-gitea.sh"), bin, "0", data)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	stop := func() {
		c := exec.Command("bash", filepath.Join(scripts, "stop-gitea.sh"), data, "--purge")
		if o, err := c.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "stop-gitea.sh: %v\n%s", err, o)
		}
		_ = os.RemoveAll(data)
	}
	if err != nil {
		stop()
		return nil, fmt.Errorf("start-gitea.sh: %w\n%s", err, stderr.String())
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	e := &giteaEnv
	e.URL, e.APIURL, e.Port = kv["GITEA_URL"], kv["GITEA_API_URL"], kv["GITEA_PORT"]
	e.AdminUser, e.AdminToken, e.AdminPassword = kv["GITEA_ADMIN_USER"], kv["GITEA_ADMIN_TOKEN"], kv["GITEA_ADMIN_PASSWORD"]
	e.BotUser, e.BotToken, e.DataDir = kv["GITEA_BOT_USER"], kv["GITEA_BOT_TOKEN"], data
	if e.URL == "" || e.AdminToken == "" || e.BotToken == "" {
		stop()
		return nil, fmt.Errorf("start-gitea.sh printed no URL or tokens:\n%s", out)
	}
	return stop, nil
}
