package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// webhookPath is where `fiveaxis serve` receives Gitea webhooks.
const webhookPath = "/webhook/gitea"

// webhookEvents are the Gitea webhook events the bot needs.
var webhookEvents = []string{"pull_request", "issue_comment"}

type initFlags struct {
	giteaURL       string
	publicURL      string
	listen         string
	dataDir        string
	database       string
	output         string
	secretFile     string
	nonInteractive bool
	force          bool
}

func newInitCmd(a *app) *cobra.Command {
	f := &initFlags{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a starter config, check the Gitea URL and token, print the webhook settings",
		Long: `Write a starter configuration file, check the Gitea URL and the bot's token
against the server (GET /api/v1/version and /api/v1/user), and print the
exact webhook settings to paste into Gitea.

On a terminal, init asks for what the flags do not give. With
--non-interactive (or when stdin is not a terminal) it never asks, and the
Gitea URL must come from --gitea-url.

The token is never a flag: it is read from FIVEAXIS_GITEA_TOKEN or the file
named by FIVEAXIS_GITEA_TOKEN_FILE, or asked for without echo on a terminal
(and then written to a file next to the config, mode 0600). The webhook
secret is read from FIVEAXIS_WEBHOOK_SECRET(_FILE), or generated and
written to --secret-file (mode 0600).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.init(cmd.Context(), cmd.InOrStdin(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.giteaURL, "gitea-url", "", "base URL of the Gitea server, as fiveaxis reaches it")
	fl.StringVar(&f.publicURL, "public-url", "", "base URL at which Gitea reaches fiveaxis (default http://localhost and the --listen port)")
	fl.StringVar(&f.listen, "listen", defaultListen, "address `fiveaxis serve` listens on")
	fl.StringVar(&f.dataDir, "data-dir", defaultDataDir, "data directory (mirrors and the embedded queue)")
	fl.StringVar(&f.database, "database", "", "postgres:// URL of the queue; empty for embedded SQLite (a password here is written to the file: prefer ${NAME} or FIVEAXIS_DATABASE_FILE)")
	fl.StringVarP(&f.output, "output", "o", "fiveaxis.yaml", "config file to write")
	fl.StringVar(&f.secretFile, "secret-file", "", "where to write a generated webhook secret (default: webhook-secret next to the config)")
	fl.BoolVar(&f.nonInteractive, "non-interactive", false, "never prompt")
	fl.BoolVar(&f.force, "force", false, "overwrite an existing config file")
	return cmd
}

// init runs `fiveaxis init`.
func (a *app) init(ctx context.Context, stdin io.Reader, f *initFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	interactive := !f.nonInteractive && isTerminal(stdin)
	in := bufio.NewReader(stdin)
	ask := func(question, def string) (string, error) {
		if !interactive {
			return def, nil
		}
		if def != "" {
			fmt.Fprintf(a.stderr, "%s [%s]: ", question, def)
		} else {
			fmt.Fprintf(a.stderr, "%s: ", question)
		}
		line, err := in.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read answer: %w", err)
		}
		if line = strings.TrimSpace(line); line != "" {
			return line, nil
		}
		return def, nil
	}

	var err error
	if f.giteaURL, err = ask("Gitea URL", f.giteaURL); err != nil {
		return err
	}
	if f.giteaURL == "" {
		return errors.New("no Gitea URL: pass --gitea-url https://gitea.example.com")
	}
	gu, err := url.Parse(f.giteaURL)
	if err != nil || (gu.Scheme != "http" && gu.Scheme != "https") || gu.Host == "" {
		return fmt.Errorf("--gitea-url %q: want an http:// or https:// URL", f.giteaURL)
	}
	f.giteaURL = strings.TrimRight(f.giteaURL, "/")

	if _, err := os.Stat(f.output); err == nil && !f.force {
		return fmt.Errorf("%s exists: pass --force to overwrite it, or -o to write elsewhere", f.output)
	}
	dir := filepath.Dir(f.output)

	// The token: environment, file, or a prompt without echo.
	token, err := secretFromEnv("FIVEAXIS_GITEA_TOKEN", a.getenv)
	if err != nil {
		return err
	}
	tokenFile := ""
	if token == "" {
		if !interactive {
			return errors.New("no Gitea token: set FIVEAXIS_GITEA_TOKEN or FIVEAXIS_GITEA_TOKEN_FILE to the bot account's access token")
		}
		token, err = readHidden(stdin, a.stderr, "Token of the bot account (input hidden)")
		if err != nil {
			return err
		}
		if token == "" {
			return errors.New("no Gitea token given")
		}
		tokenFile = filepath.Join(dir, "gitea-token")
	}

	check, err := checkGitea(ctx, f.giteaURL, token)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Gitea %s at %s: token OK, bot user %q.\n", check.Version, f.giteaURL, check.Login)
	if check.IsAdmin {
		fmt.Fprintf(a.stdout, "Warning: %q is a site administrator. Use a dedicated bot account without admin rights.\n", check.Login)
	}

	if f.listen, err = ask("Listen address of fiveaxis serve", f.listen); err != nil {
		return err
	}
	if f.publicURL == "" {
		_, port, _ := net.SplitHostPort(f.listen)
		if port == "" {
			port = "8080"
		}
		f.publicURL = "http://localhost:" + port
	}
	if f.publicURL, err = ask("URL at which Gitea reaches fiveaxis", f.publicURL); err != nil {
		return err
	}
	pu, err := url.Parse(f.publicURL)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return fmt.Errorf("--public-url %q: want an http:// or https:// URL", f.publicURL)
	}
	if f.dataDir, err = ask("Data directory", f.dataDir); err != nil {
		return err
	}

	// The config file, checked by reading it back as the other commands do.
	cfgText := starterConfig(f)
	if _, err := parseConfig([]byte(cfgText), a.getenv); err != nil {
		return fmt.Errorf("the config to write is invalid: %w", err)
	}
	if err := os.WriteFile(f.output, []byte(cfgText), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Wrote %s.\n", f.output)
	if tokenFile != "" {
		if err := writeSecretFile(tokenFile, token, f.force); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Wrote the token to %s (mode 0600).\n", tokenFile)
	}

	// The webhook secret: environment, file, or generated.
	secret, err := secretFromEnv("FIVEAXIS_WEBHOOK_SECRET", a.getenv)
	if err != nil {
		return err
	}
	secretFile, _ := a.getenv("FIVEAXIS_WEBHOOK_SECRET_FILE")
	secretHint := "the value of FIVEAXIS_WEBHOOK_SECRET"
	if secret == "" {
		secretFile = f.secretFile
		if secretFile == "" {
			secretFile = filepath.Join(dir, "webhook-secret")
		}
		if err := writeSecretFile(secretFile, randomSecret(), f.force); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Wrote a new webhook secret to %s (mode 0600).\n", secretFile)
	}
	if secretFile != "" {
		secretHint = fmt.Sprintf("the content of %s (cat %s)", secretFile, secretFile)
	}

	abs := func(p string) string {
		if ap, err := filepath.Abs(p); err == nil {
			return ap
		}
		return p
	}
	fmt.Fprintf(a.stdout, "\nEnvironment for fiveaxis serve and fiveaxis worker:\n")
	fmt.Fprintf(a.stdout, "  export FIVEAXIS_CONFIG=%s\n", abs(f.output))
	switch {
	case tokenFile != "":
		fmt.Fprintf(a.stdout, "  export FIVEAXIS_GITEA_TOKEN_FILE=%s\n", abs(tokenFile))
	default:
		if p, _ := a.getenv("FIVEAXIS_GITEA_TOKEN_FILE"); p != "" {
			fmt.Fprintf(a.stdout, "  export FIVEAXIS_GITEA_TOKEN_FILE=%s\n", abs(p))
		} else {
			fmt.Fprintf(a.stdout, "  export FIVEAXIS_GITEA_TOKEN=...   (already set here; or FIVEAXIS_GITEA_TOKEN_FILE)\n")
		}
	}
	if secretFile != "" {
		fmt.Fprintf(a.stdout, "  export FIVEAXIS_WEBHOOK_SECRET_FILE=%s\n", abs(secretFile))
	} else {
		fmt.Fprintf(a.stdout, "  export FIVEAXIS_WEBHOOK_SECRET=...   (already set here)\n")
	}
	fmt.Fprintf(a.stdout, "Then: fiveaxis config check --serve && fiveaxis serve\n")

	target := strings.TrimRight(f.publicURL, "/") + webhookPath
	fmt.Fprintf(a.stdout, `
Webhook: in Gitea, open the repository (or organization) > Settings >
Webhooks > Add webhook > Gitea, and set:
  Target URL:        %s
  HTTP method:       POST
  POST content type: application/json
  Secret:            %s
  Trigger on:        Custom events: Pull Request and Issue Comment (%s)
  Branch filter:     *
  Active:            yes
`, target, secretHint, strings.Join(webhookEvents, ", "))
	if isPrivateHost(pu.Hostname()) {
		fmt.Fprintf(a.stdout, `
Gitea refuses webhooks to private or loopback addresses by default. Allow
this one in Gitea's app.ini and restart Gitea:
  [webhook]
  ALLOWED_HOST_LIST = %s
`, pu.Hostname())
	}
	fmt.Fprintf(a.stdout, `
Give %q write access to each repository (collaborator with write, or a team)
so it can set the fiveaxis/review commit status, and require that status in
branch protection.
`, check.Login)
	return nil
}

// giteaCheck is what init learns from the server.
type giteaCheck struct {
	Version string
	Login   string
	IsAdmin bool
}

// checkGitea asks the server for its version (no authentication) and for
// the token's user. Errors say which of the URL or the token is wrong and
// never contain the token.
func checkGitea(ctx context.Context, base, token string) (*giteaCheck, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hc := &http.Client{}
	get := func(path, token string, into any) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "token "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, nil
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(into); err != nil {
			return resp.StatusCode, fmt.Errorf("the response is not JSON: %w", err)
		}
		return resp.StatusCode, nil
	}

	var ver struct {
		Version string `json:"version"`
	}
	code, err := get("/api/v1/version", "", &ver)
	switch {
	case err != nil && code == 0:
		return nil, fmt.Errorf("cannot reach Gitea at %s: %w", base, err)
	case err != nil || code != http.StatusOK || ver.Version == "":
		return nil, fmt.Errorf("%s does not look like a Gitea server: GET /api/v1/version answered HTTP %d", base, code)
	}

	var user struct {
		Login   string `json:"login"`
		IsAdmin bool   `json:"is_admin"`
	}
	code, err = get("/api/v1/user", token, &user)
	switch {
	case err != nil && code == 0:
		return nil, fmt.Errorf("cannot reach Gitea at %s: %w", base, err)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return nil, fmt.Errorf("the token was rejected by Gitea at %s (GET /api/v1/user: HTTP %d): create an access token for the bot account with scopes write:repository, write:issue, read:user and read:organization", base, code)
	case err != nil || code != http.StatusOK || user.Login == "":
		return nil, fmt.Errorf("GET %s/api/v1/user answered HTTP %d", base, code)
	}
	return &giteaCheck{Version: ver.Version, Login: user.Login, IsAdmin: user.IsAdmin}, nil
}

// starterConfig renders the config file init writes.
func starterConfig(f *initFlags) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# fiveaxis configuration, written by "fiveaxis init".
# Every option, commented: fiveaxis config example
# Check it: fiveaxis config check --serve
# Secrets are not in this file: they come from FIVEAXIS_GITEA_TOKEN and
# FIVEAXIS_WEBHOOK_SECRET, or from files named by FIVEAXIS_GITEA_TOKEN_FILE
# and FIVEAXIS_WEBHOOK_SECRET_FILE.

data_dir: %s
`, yamlString(f.dataDir))
	if f.database != "" {
		fmt.Fprintf(&b, "database: %s\n", yamlString(f.database))
	} else {
		b.WriteString("# database: postgres://fiveaxis@db:5432/fiveaxis  (empty: embedded SQLite in data_dir)\n")
	}
	fmt.Fprintf(&b, "listen: %s\n\ngitea:\n  url: %s\n\nlog:\n  level: info\n", yamlString(f.listen), yamlString(f.giteaURL))
	return b.String()
}

// yamlString quotes s for YAML.
func yamlString(s string) string {
	j, _ := json.Marshal(s)
	return string(j)
}

// writeSecretFile writes a secret with mode 0600, refusing to replace an
// existing file unless force is set.
func writeSecretFile(path, value string, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	fh, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists: pass --force to overwrite it", path)
		}
		return err
	}
	if _, err := fh.WriteString(value + "\n"); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// randomSecret returns 32 random bytes in hex.
func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// readHidden prompts on w and reads a line from the terminal r without echo.
func readHidden(r io.Reader, w io.Writer, prompt string) (string, error) {
	fmt.Fprintf(w, "%s: ", prompt)
	f, ok := r.(interface{ Fd() uintptr })
	if !ok {
		return "", errors.New("cannot read a hidden answer: stdin is not a terminal")
	}
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(w)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// isPrivateHost reports whether Gitea's default webhook policy ("external")
// would block host: loopback, private and link-local addresses, and names
// that are not fully qualified.
func isPrivateHost(host string) bool {
	if host == "localhost" || !strings.Contains(host, ".") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
}
