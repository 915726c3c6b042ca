package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fiveaxis/fiveaxis/reviewer/gitea/giteatest"
)

// giteaServer is the real Gitea of the package's tests (giteatest).
type giteaServer struct {
	URL      string // without trailing slash
	BotUser  string
	BotToken string
}

// startGitea returns the package's Gitea server, started once for the
// test binary by giteatest (skipped in -short mode).
func startGitea(t testing.TB) *giteaServer {
	t.Helper()
	s := giteatest.Start(t)
	return &giteaServer{URL: s.URL, BotUser: s.BotUser, BotToken: s.BotToken}
}

func TestInitAgainstGitea(t *testing.T) {
	g := startGitea(t)
	t.Run("good token", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "fiveaxis.yaml")
		tokenFile := filepath.Join(dir, "token")
		if err := os.WriteFile(tokenFile, []byte(g.BotToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"FIVEAXIS_GITEA_TOKEN_FILE": tokenFile}
		code, out, errOut := runCLI(t, env, "init", "--non-interactive", "--gitea-url", g.URL+"/",
			"--public-url", "http://127.0.0.1:8099", "--listen", ":8099", "--data-dir", filepath.Join(dir, "data"), "-o", cfg)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		for _, want := range []string{
			"token OK, bot user \"" + g.BotUser + "\"",
			"Target URL:        http://127.0.0.1:8099/webhook/gitea",
			"POST content type: application/json",
			"(pull_request, issue_comment)",
			"FIVEAXIS_WEBHOOK_SECRET_FILE=" + filepath.Join(dir, "webhook-secret"),
			"FIVEAXIS_GITEA_TOKEN_FILE=" + tokenFile,
			"ALLOWED_HOST_LIST = 127.0.0.1",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		secret, err := os.ReadFile(filepath.Join(dir, "webhook-secret"))
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(filepath.Join(dir, "webhook-secret")); st.Mode().Perm() != 0o600 {
			t.Errorf("webhook-secret mode %v, want 0600", st.Mode().Perm())
		}
		for _, s := range []string{g.BotToken, strings.TrimSpace(string(secret))} {
			if strings.Contains(out+errOut, s) {
				t.Errorf("init printed a secret")
			}
		}
		// The written config passes config check --serve with the
		// environment init printed.
		env["FIVEAXIS_WEBHOOK_SECRET_FILE"] = filepath.Join(dir, "webhook-secret")
		env["FIVEAXIS_CONFIG"] = cfg
		code, out, errOut = runCLI(t, env, "config", "check", "--serve")
		if code != 0 {
			t.Fatalf("config check --serve: exit %d\n%s", code, errOut)
		}
		if !strings.Contains(out, "url: "+g.URL+"\n") || !strings.Contains(out, "listen: :8099") {
			t.Errorf("effective config:\n%s", out)
		}
		assertNoSecretsIn(t, out+errOut, g.BotToken, strings.TrimSpace(string(secret)))

		// A second run refuses to overwrite; --force overwrites.
		if code, _, errOut := runCLI(t, env, "init", "--non-interactive", "--gitea-url", g.URL, "-o", cfg); code != 2 || !strings.Contains(errOut, "--force") {
			t.Errorf("second init: exit %d, %s", code, errOut)
		}
	})

	tests := []struct {
		name string
		env  map[string]string
		url  string
		want string
	}{
		{"bad token", map[string]string{"FIVEAXIS_GITEA_TOKEN": "0123456789abcdef0123456789abcdef01234567"}, g.URL,
			"token was rejected by Gitea at " + g.URL + " (GET /api/v1/user: HTTP 401)"},
		{"no token", nil, g.URL, "no Gitea token: set FIVEAXIS_GITEA_TOKEN or FIVEAXIS_GITEA_TOKEN_FILE"},
		{"not Gitea", map[string]string{"FIVEAXIS_GITEA_TOKEN": g.BotToken}, g.URL + "/api/v1/nothing-here", "does not look like a Gitea server"},
		{"nothing listening", map[string]string{"FIVEAXIS_GITEA_TOKEN": g.BotToken}, "http://127.0.0.1:1", "cannot reach Gitea at http://127.0.0.1:1"},
		{"not a URL", map[string]string{"FIVEAXIS_GITEA_TOKEN": g.BotToken}, "gitea.example.com", "want an http:// or https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "fiveaxis.yaml")
			code, out, errOut := runCLI(t, tt.env, "init", "--non-interactive", "--gitea-url", tt.url, "-o", cfg)
			if code != 2 {
				t.Fatalf("exit %d, want 2\n%s\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, errOut)
			}
			if _, err := os.Stat(cfg); err == nil {
				t.Error("a config was written after a failed check")
			}
			assertNoSecretsIn(t, out+errOut, g.BotToken, "0123456789abcdef0123456789abcdef01234567")
		})
	}
}

// assertNoSecretsIn fails when text contains any of secrets.
func assertNoSecretsIn(t testing.TB, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("output contains a secret:\n%s", text)
		}
	}
}

func TestStarterConfigParses(t *testing.T) {
	f := &initFlags{giteaURL: `http://g:3000/"quoted"`, listen: ":9", dataDir: "/d: x", database: "postgres://u@h/db"}
	c, err := parseConfig([]byte(starterConfig(f)), lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Gitea.URL != f.giteaURL || c.Listen != ":9" || c.DataDir != "/d: x" || c.Database != f.database {
		t.Errorf("round trip: %+v", c)
	}
}

func TestIsPrivateHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "10.1.2.3": true, "192.168.0.2": true, "fiveaxis": true,
		"::1": true, "bot.example.com": false, "8.8.8.8": false,
	} {
		if got := isPrivateHost(host); got != want {
			t.Errorf("isPrivateHost(%q) = %v, want %v", host, got, want)
		}
	}
}
