package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite generated files (docs/configuration.md)")

// configBundle is what the config tests share: a directory for files and
// an environment.
type configBundle struct {
	dir string
	env map[string]string
}

func setupConfig(t testing.TB) *configBundle {
	t.Helper()
	return &configBundle{dir: t.TempDir(), env: map[string]string{}}
}

// file writes name with content in the bundle's directory and returns its path.
func (b *configBundle) file(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(b.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Secret values used across tests; none may ever be printed.
const (
	testToken         = "tok-3f9a1c0b7e2d4a6c8e0f1a2b3c4d5e6f70819203"
	testWebhookSecret = "whs-Zq8!x\"<>&\\-9d1e" // quotes, HTML and backslash: escaped forms must be caught too
	testLLMKey        = "sk-llm-5c1d2e3f4a5b6c7d8e9f"
	testDBPassword    = "pg-pass-7a6b5c4d"
)

func TestConfigCheck(t *testing.T) {
	b := setupConfig(t)
	good := b.file(t, "good.yaml", "data_dir: /tmp/fa\ngitea:\n  url: ${GITEA_HOST}\nreview:\n  max_behind: 7\n# a comment with ${NOT_SET} is not expanded\n")
	unknown := b.file(t, "unknown.yaml", "gitea:\n  url: http://g\nreview:\n  max_behnd: 5\n")
	inFile := b.file(t, "secret-in-file.yaml", "listen: :9000\ngitea:\n  token: abc\n")
	badFilter := b.file(t, "filter.yaml", "review:\n  filter: lines\n")
	badType := b.file(t, "type.yaml", "queue:\n\n  concurrency: many\n")
	unset := b.file(t, "unset.yaml", "data_dir: /x\ngitea:\n  url: ${NOPE_NOT_SET}\n")
	tokenFile := b.file(t, "token", testToken+"\n")
	full := map[string]string{"GITEA_HOST": "http://gitea.test:3000", "FIVEAXIS_GITEA_TOKEN_FILE": tokenFile, "FIVEAXIS_WEBHOOK_SECRET": testWebhookSecret}

	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		want     []string // in stdout (exit 0) or stderr
	}{
		{"good", []string{"--config", good, "config", "check"}, map[string]string{"GITEA_HOST": "http://gitea.test:3000"}, 0,
			[]string{"url: http://gitea.test:3000", "max_behind: 7", "filter: added", "data_dir: /tmp/fa", "FIVEAXIS_GITEA_TOKEN: (unset)"}},
		{"FIVEAXIS_CONFIG", []string{"config", "check"}, map[string]string{"FIVEAXIS_CONFIG": good, "GITEA_HOST": "http://h"}, 0,
			[]string{"# file: " + good, "url: http://h"}},
		{"no file: defaults", []string{"config", "check"}, nil, 0, []string{"listen: :8080", "data_dir: ./fiveaxis-data"}},
		{"unknown key names the line", []string{"--config", unknown, "config", "check"}, nil, 2,
			[]string{"line 4", `unknown key "review.max_behnd"`}},
		{"secret in the file", []string{"--config", inFile, "config", "check"}, nil, 2,
			[]string{"line 3", `unknown key "gitea.token"`, "FIVEAXIS_GITEA_TOKEN"}},
		{"bad filter", []string{"--config", badFilter, "config", "check"}, nil, 2, []string{"review.filter", "lines"}},
		{"bad type names the line", []string{"--config", badType, "config", "check"}, nil, 2, []string{"line 3", "many"}},
		{"unset variable names the line", []string{"--config", unset, "config", "check"}, nil, 2, []string{"line 3", "${NOPE_NOT_SET} is not set"}},
		{"missing file", []string{"--config", filepath.Join(b.dir, "none.yaml"), "config", "check"}, nil, 2, []string{"no such file"}},
		{"bad env value", []string{"config", "check"}, map[string]string{"FIVEAXIS_QUEUE_CONCURRENCY": "lots"}, 2,
			[]string{"FIVEAXIS_QUEUE_CONCURRENCY", `"lots" is not an integer`}},
		{"serve without secrets", []string{"--config", good, "config", "check", "--serve"}, map[string]string{"GITEA_HOST": "http://h"}, 2,
			[]string{"serve needs", "FIVEAXIS_GITEA_TOKEN or FIVEAXIS_GITEA_TOKEN_FILE", "FIVEAXIS_WEBHOOK_SECRET or FIVEAXIS_WEBHOOK_SECRET_FILE"}},
		{"serve without URL", []string{"config", "check", "--serve"}, map[string]string{"FIVEAXIS_GITEA_TOKEN": testToken, "FIVEAXIS_WEBHOOK_SECRET": testWebhookSecret}, 2,
			[]string{"gitea.url (or FIVEAXIS_GITEA_URL) is not set"}},
		{"serve with everything", []string{"--config", good, "config", "check", "--serve"}, full, 0,
			[]string{"FIVEAXIS_GITEA_TOKEN: (set, redacted)", "FIVEAXIS_WEBHOOK_SECRET: (set, redacted)"}},
		{"worker needs no webhook secret", []string{"--config", good, "config", "check", "--worker"},
			map[string]string{"GITEA_HOST": "http://h", "FIVEAXIS_GITEA_TOKEN": testToken}, 0, []string{"url: http://h"}},
		{"empty secret file", []string{"config", "check"}, map[string]string{"FIVEAXIS_GITEA_TOKEN_FILE": b.file(t, "empty", "\n")}, 2,
			[]string{"FIVEAXIS_GITEA_TOKEN_FILE", "is empty"}},
		{"unreadable secret file", []string{"config", "check"}, map[string]string{"FIVEAXIS_WEBHOOK_SECRET_FILE": filepath.Join(b.dir, "nope")}, 2,
			[]string{"FIVEAXIS_WEBHOOK_SECRET_FILE", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			got := out
			if code != 0 {
				got = errOut
				if out != "" {
					t.Errorf("stdout not empty on error: %q", out)
				}
				if n := strings.Count(strings.TrimSpace(errOut), "\n"); n != 0 {
					t.Errorf("error is not one line:\n%s", errOut)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			assertNoSecrets(t, out+errOut)
		})
	}
}

// assertNoSecrets fails when text contains any test secret, raw or escaped.
func assertNoSecrets(t testing.TB, text string) {
	t.Helper()
	for _, s := range []string{testToken, testWebhookSecret, testLLMKey, testDBPassword, "Zq8!x", `Zq8!x\"`} {
		if strings.Contains(text, s) {
			t.Errorf("output contains the secret %q:\n%s", s, text)
		}
	}
}

func TestConfigSecretsFromFiles(t *testing.T) {
	b := setupConfig(t)
	b.env["FIVEAXIS_GITEA_TOKEN_FILE"] = b.file(t, "token", "  "+testToken+"\n")
	b.env["FIVEAXIS_WEBHOOK_SECRET_FILE"] = b.file(t, "whs", testWebhookSecret)
	b.env["FIVEAXIS_LLM_API_KEY"] = testLLMKey
	b.env["FIVEAXIS_LLM_API_KEY_FILE"] = filepath.Join(b.dir, "does-not-exist") // the variable wins over the file
	b.env["FIVEAXIS_DATABASE_FILE"] = b.file(t, "db", "postgres://fiveaxis:"+testDBPassword+"@db:5432/fiveaxis\n")
	c, err := loadConfig("", lookup(b.env))
	if err != nil {
		t.Fatal(err)
	}
	want := SecretsConfig{GiteaToken: testToken, WebhookSecret: testWebhookSecret, LLMAPIKey: testLLMKey}
	if c.Secrets != want {
		t.Errorf("secrets = %+v, want %+v", c.Secrets, want)
	}
	if c.Database != "postgres://fiveaxis:"+testDBPassword+"@db:5432/fiveaxis" {
		t.Errorf("database = %q", c.Database)
	}
	if !strings.Contains(c.redacted(), "postgres://fiveaxis:xxxxx@db:5432/fiveaxis") {
		t.Errorf("redacted database:\n%s", c.redacted())
	}
	assertNoSecrets(t, c.redacted())
}

func TestConfigEnvOverrides(t *testing.T) {
	b := setupConfig(t)
	path := b.file(t, "c.yaml", "listen: :1\nreview:\n  max_behind: 3\nsweep:\n  repos: [a/b]\n")
	b.env = map[string]string{
		"FIVEAXIS_LISTEN":                 ":2",
		"FIVEAXIS_REVIEW_MAX_BEHIND":      "9",
		"FIVEAXIS_REVIEW_CHECKER_TIMEOUT": "2m",
		"FIVEAXIS_LLM_AZURE":              "true",
		"FIVEAXIS_SWEEP_REPOS":            "x/y, z/w",
		"FIVEAXIS_LOG_FORMAT":             "",   // empty: not an override
		"FIVEAXIS_DATA_DIR":               "/d", // an existing name keeps working
	}
	c, err := loadConfig(path, lookup(b.env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":2" || c.Review.MaxBehind != 9 || c.Review.CheckerTimeout != 2*time.Minute || !c.LLM.Azure ||
		!reflect.DeepEqual(c.Sweep.Repos, []string{"x/y", "z/w"}) || c.DataDir != "/d" {
		t.Errorf("overrides not applied: %+v", c)
	}
}

func TestExpandEnv(t *testing.T) {
	env := lookup(map[string]string{"A": "1", "B": "two"})
	tests := []struct {
		in, want, err string
	}{
		{"x: ${A}${B}\n", "x: 1two\n", ""},
		{"x: $A\n", "x: $A\n", ""}, // only the braced form
		{"# ${C}\nx: 1\n", "# ${C}\nx: 1\n", ""},
		{"x: 1\ny: ${C}\n", "", "line 2: ${C} is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expandEnv([]byte(tt.in), env)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestConfigOptionsTable checks that the options table, which documents the
// config, covers every key of Config exactly once, in order, and that the
// flags it names exist.
func TestConfigOptionsTable(t *testing.T) {
	var keys, documented []string
	for _, f := range configFields() {
		keys = append(keys, f.Key)
	}
	for _, o := range options {
		documented = append(documented, o.Key)
		if o.Doc == "" {
			t.Errorf("%s: no doc", o.Key)
		}
	}
	if !reflect.DeepEqual(keys, documented) {
		t.Errorf("options table is out of date with Config:\nConfig: %v\ntable:  %v", keys, documented)
	}
	b := setupDeploy(t)
	for _, o := range options {
		for _, fl := range o.Flags {
			b.checkArgs(t, o.Key, strings.Fields(fl))
		}
	}
}

func TestConfigExample(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "config", "example")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != exampleConfig(false) {
		t.Error("config example does not print exampleConfig(false)")
	}
	for _, all := range []bool{false, true} {
		text := exampleConfig(all)
		c, err := parseConfig([]byte(text), lookup(map[string]string{"PGPASSWORD": testDBPassword}))
		if err != nil {
			t.Fatalf("example (all=%v) does not parse: %v\n%s", all, err, text)
		}
		if err := c.validate(); err != nil {
			t.Errorf("example (all=%v) is invalid: %v", all, err)
		}
		for _, o := range options {
			if !strings.Contains(text, envName(o.Key)) {
				t.Errorf("example lacks %s", envName(o.Key))
			}
		}
		if all {
			// Every key is set, so no leaf may be left at its zero value
			// except booleans and durations documented as off.
			root := reflect.ValueOf(c).Elem()
			for _, f := range configFields() {
				if root.FieldByIndex(f.Index).IsZero() && f.Type.Kind() != reflect.Bool {
					t.Errorf("example (all) leaves %s unset", f.Key)
				}
			}
		}
	}
}

// TestConfigDocs checks that docs/configuration.md is generated from the
// options table; run `go test ./cmd/fiveaxis -run TestConfigDocs -update` to
// regenerate it.
func TestConfigDocs(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "configuration.md")
	want := renderConfigDocs()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date: run go test ./cmd/fiveaxis -run TestConfigDocs -update", path)
	}
}

// renderConfigDocs renders docs/configuration.md from the options table.
func renderConfigDocs() string {
	types := map[string]string{}
	for _, f := range configFields() {
		types[f.Key] = typeName(f.Type)
	}
	cell := func(s string) string {
		if s == "" {
			return ""
		}
		return strings.ReplaceAll(s, "|", `\|`)
	}
	var b strings.Builder
	b.WriteString(`# Configuration

<!-- Generated from cmd/fiveaxis/config_options.go by TestConfigDocs; do not edit.
     Regenerate: go test ./cmd/fiveaxis -run TestConfigDocs -update -->

fiveaxis has one configuration: a YAML file, the ` + "`FIVEAXIS_*`" + ` environment, and
a few flags. Every key is optional; zero values mean the defaults below.

- **File**: ` + "`--config FILE`" + `, or ` + "`FIVEAXIS_CONFIG=FILE`" + `. No file means defaults
  plus environment. Keys are strict: an unknown key, a value of the wrong
  type or a bad value is an error that names the line.
- **` + "`${NAME}`" + ` expansion**: a value may contain ` + "`${NAME}`" + `, replaced by that
  environment variable before parsing. An unset variable is an error naming
  the line. Comment lines are not expanded.
- **Environment**: every key has a variable, ` + "`FIVEAXIS_`" + ` plus the key in upper
  case with dots as underscores (` + "`review.max_behind`" + ` →
  ` + "`FIVEAXIS_REVIEW_MAX_BEHIND`" + `). A non-empty variable wins over the file.
  Lists are comma-separated; durations are Go durations (` + "`30s`, `6h`" + `).
- **Flags** win over both, for the command they belong to.
- **Secrets** are never read from the file or from flags: only from their
  variable, or from the file named by the variable plus ` + "`_FILE`" + ` (trimmed of
  white space; Docker and Kubernetes secrets, systemd credentials). The
  variable wins when both are set.

` + "`fiveaxis config check`" + ` prints the effective configuration with secrets
redacted (` + "`--serve`" + ` or ` + "`--worker`" + ` also checks that what that command needs is
set); ` + "`fiveaxis config example`" + ` prints a commented example with every key.

## Options

| key | environment | flag | type | default | meaning |
| --- | --- | --- | --- | --- | --- |
`)
	for _, o := range options {
		flags := ""
		for i, f := range o.Flags {
			if i > 0 {
				flags += ", "
			}
			flags += "`" + f + "`"
		}
		def := o.Default
		if def != "" && !strings.HasPrefix(def, "(") {
			def = "`" + def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s | %s |\n", o.Key, envName(o.Key), flags, types[o.Key], cell(def), cell(o.Doc))
	}
	b.WriteString(`
## Secrets

| variable | or a file named by | needed by | meaning |
| --- | --- | --- | --- |
`)
	for _, s := range secretOptions {
		fmt.Fprintf(&b, "| `%s` | `%s_FILE` | %s | %s |\n", s.Env, s.Env, s.Required, cell(s.Doc))
	}
	b.WriteString("| `FIVEAXIS_DATABASE` | `FIVEAXIS_DATABASE_FILE` | serve, worker with PostgreSQL | The `database` key, read from a file when it holds a password. |\n")
	b.WriteString(`
Secrets never appear in ` + "`config check`" + ` output or in logs: the logger replaces
every secret value (and the database password) with ` + "`[REDACTED]`" + ` wherever it
would appear.

## Example

The output of ` + "`fiveaxis config example`" + `:

` + "```yaml\n" + exampleConfig(false) + "```\n")
	return b.String()
}

// lookup turns a map into a getenv function.
func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// FuzzParseConfig checks that no config file makes the parser panic, and
// that an error always names a line or a variable.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(exampleConfig(true)))
	f.Add([]byte("gitea:\n  url: ${X}\n"))
	f.Add([]byte("review: [1, 2]\n"))
	f.Add([]byte("queue:\n  concurrency: 1e99\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseConfig(data, lookup(map[string]string{"X": "y", "PGPASSWORD": "p"}))
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	})
}
