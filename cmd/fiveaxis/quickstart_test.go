package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds fiveaxis as the quick start does, with the version and
// commit embedded through -ldflags, and returns its path.
func buildBinary(t testing.TB, version, commit string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary (not in -short mode)")
	}
	bin := filepath.Join(t.TempDir(), "fiveaxis")
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version+" -X main.commit="+commit, "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the Dockerfile builds it
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// syncBuffer is a bytes.Buffer safe for a process writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// TestQuickStart follows docs/quickstart.md against a real Gitea: build
// with an embedded version, init non-interactively, config check --serve,
// start serve, and hit /healthz. The one difference: serve listens on a free
// port instead of :8080, since other tests run on this machine.
func TestQuickStart(t *testing.T) {
	// The steps of the document, verbatim; the test runs their equivalent.
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "quickstart.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{
		"../shared/gitea/start-gitea.sh ~/.cache/fiveaxis/gitea-bin 0 /tmp/fiveaxis-gitea",
		`go build -ldflags "-X main.version=$(git describe --tags --always --dirty) -X main.commit=$(git rev-parse HEAD)" -o fiveaxis ./cmd/fiveaxis`,
		"./fiveaxis version",
		`export FIVEAXIS_GITEA_TOKEN="$GITEA_BOT_TOKEN"`,
		`./fiveaxis init --non-interactive --gitea-url "$GITEA_URL" --public-url http://127.0.0.1:8080`,
		`export FIVEAXIS_CONFIG="$PWD/fiveaxis.yaml" FIVEAXIS_WEBHOOK_SECRET_FILE="$PWD/webhook-secret"`,
		"./fiveaxis config check --serve",
		"./fiveaxis serve &",
		"curl -fsS http://127.0.0.1:8080/healthz",
	} {
		if !bytes.Contains(doc, []byte(step)) {
			t.Errorf("docs/quickstart.md lacks the step %q", step)
		}
	}

	// 0. A Gitea.
	g := startGitea(t)
	// 1. Build, with the version embedded.
	bin := buildBinary(t, "v9.8.7-quickstart", "0123abcd")
	work := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "TMPDIR=" + os.TempDir()}
	run := func(extraEnv []string, args ...string) (string, string, error) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = work
		cmd.Env = append(append([]string(nil), env...), extraEnv...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	out, _, err := run(nil, "version")
	if err != nil || !strings.Contains(out, "fiveaxis v9.8.7-quickstart (commit 0123abcd, go1.") {
		t.Fatalf("version: %v: %q", err, out)
	}

	// 2. init: checks the token against Gitea, writes the config and the
	// webhook secret.
	port := freePort(t)
	env = append(env, "FIVEAXIS_GITEA_TOKEN="+g.BotToken)
	out, errOut, err := run(nil, "init", "--non-interactive", "--gitea-url", g.URL+"/",
		"--public-url", "http://127.0.0.1:"+port, "--listen", "127.0.0.1:"+port)
	if err != nil {
		t.Fatalf("init: %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(out, "Target URL:        http://127.0.0.1:"+port+"/webhook/gitea") {
		t.Errorf("init output:\n%s", out)
	}
	secret, err := os.ReadFile(filepath.Join(work, "webhook-secret"))
	if err != nil {
		t.Fatal(err)
	}
	env = append(env, "FIVEAXIS_CONFIG="+filepath.Join(work, "fiveaxis.yaml"),
		"FIVEAXIS_WEBHOOK_SECRET_FILE="+filepath.Join(work, "webhook-secret"))
	secrets := []string{g.BotToken, strings.TrimSpace(string(secret))}

	// 3. config check --serve.
	out, errOut, err = run(nil, "config", "check", "--serve")
	if err != nil {
		t.Fatalf("config check --serve: %v\n%s", err, errOut)
	}
	assertNoSecretsIn(t, out+errOut, secrets...)

	// 4. serve, then /healthz.
	serve := exec.Command(bin, "serve")
	serve.Dir = work
	serve.Env = env
	logs := &syncBuffer{}
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	// stop sends SIGTERM and waits; it reports whether serve stopped in
	// time (else it is killed).
	stop := sync.OnceValue(func() bool {
		_ = serve.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			return true
		case <-time.After(30 * time.Second):
			_ = serve.Process.Kill()
			<-exited
			return false
		}
	})
	t.Cleanup(func() { stop() })
	base := "http://127.0.0.1:" + port
	get := func(path string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, string(body)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		code, _ := get("/healthz")
		if code == http.StatusOK {
			break
		}
		if serve.ProcessState != nil || len(exited) > 0 {
			t.Fatalf("serve exited\n%s", logs.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The other endpoints the deployment files probe and scrape.
	b := setupDeploy(t)
	for _, path := range []string{"/readyz", "/metrics"} {
		if !b.routes[path] {
			t.Errorf("serve has no %s route (the deploy files use it)", path)
			continue
		}
		var code int
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
			if code, _ = get(path); code == http.StatusOK {
				break
			}
		}
		if code != http.StatusOK {
			t.Errorf("GET %s: HTTP %d", path, code)
		}
	}
	// A webhook with a wrong signature is refused: the secret reached serve.
	req, _ := http.NewRequest(http.MethodPost, base+"/webhook/gitea", strings.NewReader(`{"action":"opened"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitea-Event", "pull_request")
	req.Header.Set("X-Gitea-Signature", strings.Repeat("0", 64))
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Error(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("badly signed webhook: HTTP %d, want 4xx", resp.StatusCode)
		}
	}

	// Stop serve and read its logs: JSON (stderr is not a terminal), and no
	// secret anywhere.
	if !stop() {
		t.Error("serve did not stop within 30s of SIGTERM")
	}
	text := logs.String()
	assertNoSecretsIn(t, text, secrets...)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Error("serve logged nothing")
	}
	for _, l := range lines {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil {
			t.Errorf("log line is not JSON: %s", l)
			break
		}
	}
}
