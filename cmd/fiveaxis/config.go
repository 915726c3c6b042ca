package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the one configuration of fiveaxis: a YAML file (--config or
// FIVEAXIS_CONFIG) with ${ENV} expansion, overridden by FIVEAXIS_* variables
// and flags. Zero values mean defaults. Secrets are never read from the file
// or from flags: only from the environment or from *_FILE paths.
type Config struct {
	// DataDir holds the repository mirrors and the embedded database.
	DataDir string `yaml:"data_dir"`
	// Database is "" for the embedded SQLite file in DataDir, or a
	// postgres:// URL.
	Database string `yaml:"database"`
	// Listen is the address of `fiveaxis serve`.
	Listen string `yaml:"listen"`

	Gitea   GiteaConfig   `yaml:"gitea"`
	Review  ReviewConfig  `yaml:"review"`
	LLM     LLMConfig     `yaml:"llm"`
	Queue   QueueConfig   `yaml:"queue"`
	Sweep   SweepConfig   `yaml:"sweep"`
	Log     LogConfig     `yaml:"log"`
	Secrets SecretsConfig `yaml:"-"`
}

// GiteaConfig is the forge the bot works on.
type GiteaConfig struct {
	URL string `yaml:"url"`
}

// ReviewConfig tunes the review pipeline.
type ReviewConfig struct {
	// MaxBehind is how many target commits a head may lack before it needs
	// a rebase (default 100).
	MaxBehind int `yaml:"max_behind"`
	// Filter is added (default), diff_context or file.
	Filter string `yaml:"filter"`
	// CheckerTimeout limits each checker (default 30s).
	CheckerTimeout time.Duration `yaml:"checker_timeout"`
	// DisableAnalyzers turns the type-checked analyzers off (they are on by
	// default); the AST rules still run.
	DisableAnalyzers bool `yaml:"disable_analyzers"`
}

// LLMConfig configures the optional OpenAI-compatible model.
type LLMConfig struct {
	URL          string `yaml:"url"`
	Model        string `yaml:"model"`
	Organization string `yaml:"organization"`
	Azure        bool   `yaml:"azure"`
	// Budget is the input-token budget per review (default 60000).
	Budget int `yaml:"budget"`
	// NeverSend lists path globs whose content never goes to the model.
	NeverSend []string `yaml:"never_send"`
}

// QueueConfig tunes the workers.
type QueueConfig struct {
	// Concurrency is the number of jobs one process runs at once (default 4).
	Concurrency int `yaml:"concurrency"`
	// PerRepo caps concurrent jobs of one repository (default 1).
	PerRepo int `yaml:"per_repo"`
}

// SweepConfig configures the stale-PR sweep.
type SweepConfig struct {
	// Interval between sweeps (default 6h).
	Interval time.Duration `yaml:"interval"`
	// Repos are "owner/name" repositories to sweep.
	Repos []string `yaml:"repos"`
	// Orgs are organizations whose repositories are swept.
	Orgs []string `yaml:"orgs"`
	// IdleAfter flags PRs idle longer than this, once (default 0: off).
	IdleAfter time.Duration `yaml:"idle_after"`
}

// LogConfig configures log/slog.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json, text, or "" for text on a terminal and JSON otherwise
}

// SecretsConfig holds the secrets, from the environment or *_FILE paths only.
type SecretsConfig struct {
	GiteaToken    string
	WebhookSecret string
	LLMAPIKey     string
}

// Defaults.
const (
	defaultDataDir = "./fiveaxis-data"
	defaultListen  = ":8080"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${NAME} with the variable's value. A reference to an
// unset variable is an error naming the line. Comment lines are left alone.
func expandEnv(data []byte, getenv func(string) (string, bool)) ([]byte, error) {
	var firstErr error
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		if bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			continue
		}
		lines[i] = envRef.ReplaceAllFunc(l, func(m []byte) []byte {
			name := string(envRef.FindSubmatch(m)[1])
			v, ok := getenv(name)
			if !ok && firstErr == nil {
				firstErr = fmt.Errorf("line %d: ${%s} is not set", i+1, name)
			}
			return []byte(v)
		})
	}
	return bytes.Join(lines, []byte("\n")), firstErr
}

// parseConfig decodes a YAML config strictly: an unknown key is an error that
// names its line.
func parseConfig(data []byte, getenv func(string) (string, bool)) (*Config, error) {
	data, err := expandEnv(data, getenv)
	if err != nil {
		return nil, err
	}
	c := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, errors.New(yamlErrorText(err))
	}
	return c, nil
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type main\.(\w+)`)

// yamlErrorText rewrites a yaml.v3 error for people: one line, "unknown key"
// instead of Go type names, and a hint when a secret was put in the file.
func yamlErrorText(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", "; ")
	return unknownField.ReplaceAllStringFunc(msg, func(m string) string {
		sub := unknownField.FindStringSubmatch(m)
		key, section := sub[1], sectionOf[sub[2]]
		if section != "" {
			key = section + "." + key
		}
		text := fmt.Sprintf("unknown key %q", key)
		if strings.Contains(key, "token") || strings.Contains(key, "secret") || strings.Contains(key, "key") || strings.Contains(key, "password") {
			text += " (secrets are never read from the file: use FIVEAXIS_GITEA_TOKEN, FIVEAXIS_WEBHOOK_SECRET, FIVEAXIS_LLM_API_KEY or their _FILE forms)"
		} else {
			text += " (every key: fiveaxis config example)"
		}
		return text
	})
}

// sectionOf maps the Go type of a config section to its YAML key.
var sectionOf = map[string]string{
	"GiteaConfig": "gitea", "ReviewConfig": "review", "LLMConfig": "llm",
	"QueueConfig": "queue", "SweepConfig": "sweep", "LogConfig": "log",
}

// loadConfig reads the config file (path, or FIVEAXIS_CONFIG when path is
// empty; no file at all means defaults), applies FIVEAXIS_* variables and
// reads the secrets.
func loadConfig(path string, getenv func(string) (string, bool)) (*Config, error) {
	if path == "" {
		path, _ = getenv("FIVEAXIS_CONFIG")
	}
	c := &Config{}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if c, err = parseConfig(data, getenv); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return nil, err
	}
	return c, nil
}

// applyEnv overrides settings with FIVEAXIS_* variables (one per key: see
// envName; lists are comma-separated) and reads secrets from the environment
// or from *_FILE paths. The database URL may also come from
// FIVEAXIS_DATABASE_FILE, since it may hold a password.
func (c *Config) applyEnv(getenv func(string) (string, bool)) error {
	root := reflect.ValueOf(c).Elem()
	for _, f := range configFields() {
		name := envName(f.Key)
		v, ok := getenv(name)
		if !ok || v == "" {
			continue
		}
		if err := setFromString(root.FieldByIndex(f.Index), v); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if c.Database == "" {
		v, err := secretFromEnv("FIVEAXIS_DATABASE", getenv)
		if err != nil {
			return err
		}
		c.Database = v
	}
	for _, s := range []struct {
		name string
		dst  *string
	}{
		{"FIVEAXIS_GITEA_TOKEN", &c.Secrets.GiteaToken},
		{"FIVEAXIS_WEBHOOK_SECRET", &c.Secrets.WebhookSecret},
		{"FIVEAXIS_LLM_API_KEY", &c.Secrets.LLMAPIKey},
	} {
		v, err := secretFromEnv(s.name, getenv)
		if err != nil {
			return err
		}
		if v != "" {
			*s.dst = v
		}
	}
	return nil
}

// secretFromEnv reads NAME, or the file named by NAME_FILE.
func secretFromEnv(name string, getenv func(string) (string, bool)) (string, error) {
	if v, ok := getenv(name); ok && v != "" {
		return v, nil
	}
	file, ok := getenv(name + "_FILE")
	if !ok || file == "" {
		return "", nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return "", fmt.Errorf("%s_FILE: %s is empty", name, file)
	}
	return v, nil
}

// withDefaults returns a copy with defaults filled in.
func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = defaultDataDir
	}
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if c.Review.Filter == "" {
		c.Review.Filter = "added"
	}
	if c.Review.MaxBehind == 0 {
		c.Review.MaxBehind = 100
	}
	if c.Review.CheckerTimeout == 0 {
		c.Review.CheckerTimeout = 30 * time.Second
	}
	if c.LLM.Budget == 0 {
		c.LLM.Budget = 60000
	}
	if c.Queue.Concurrency == 0 {
		c.Queue.Concurrency = 4
	}
	if c.Queue.PerRepo == 0 {
		c.Queue.PerRepo = 1
	}
	if c.Sweep.Interval == 0 {
		c.Sweep.Interval = 6 * time.Hour
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	return c
}

// validate checks values that would fail later.
func (c *Config) validate() error {
	if c.Review.MaxBehind < 0 {
		return fmt.Errorf("review.max_behind must not be negative")
	}
	switch c.Review.Filter {
	case "", "added", "diff_context", "file":
	default:
		return fmt.Errorf("review.filter: %q is not added, diff_context or file", c.Review.Filter)
	}
	switch strings.ToLower(c.Log.Level) {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "json", "text":
	default:
		return fmt.Errorf("log.format: %q is not json or text", c.Log.Format)
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") && !strings.HasPrefix(c.Database, "sqlite://") {
		return fmt.Errorf("database: want a postgres:// URL, sqlite://PATH, or empty for the embedded SQLite file")
	}
	return nil
}

// redacted returns the config as YAML with secrets shown only as set or
// unset, and the password of the database URL replaced.
func (c Config) redacted() string {
	c.Database = redactURL(c.Database)
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	_ = enc.Encode(c) // a plain struct always encodes
	mark := func(v string) string {
		if v == "" {
			return "(unset)"
		}
		return "(set, redacted)"
	}
	return out.String() + fmt.Sprintf("# secrets (from the environment only)\n# FIVEAXIS_GITEA_TOKEN: %s\n# FIVEAXIS_WEBHOOK_SECRET: %s\n# FIVEAXIS_LLM_API_KEY: %s\n",
		mark(c.Secrets.GiteaToken), mark(c.Secrets.WebhookSecret), mark(c.Secrets.LLMAPIKey))
}

// redactURL replaces the password of a URL with "xxxxx".
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	return u.Redacted()
}

// secretValues returns every secret value of c that must never be logged:
// the tokens and keys, and the database password.
func (c Config) secretValues() []string {
	var out []string
	for _, v := range []string{c.Secrets.GiteaToken, c.Secrets.WebhookSecret, c.Secrets.LLMAPIKey} {
		if v != "" {
			out = append(out, v)
		}
	}
	if u, err := url.Parse(c.Database); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Roles for requireFor: what a command needs beyond a valid file.
const (
	roleServe  = "serve"  // webhook receiver (and in-process workers)
	roleWorker = "worker" // queue worker or sweep
)

// requireFor checks that c has what the role needs to start, with errors
// that say which variable or key to set.
func (c *Config) requireFor(role string) error {
	var missing []string
	if c.Gitea.URL == "" {
		missing = append(missing, "gitea.url (or FIVEAXIS_GITEA_URL) is not set")
	} else if u, err := url.Parse(c.Gitea.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		missing = append(missing, fmt.Sprintf("gitea.url %q is not an http(s) URL", c.Gitea.URL))
	}
	if c.Secrets.GiteaToken == "" {
		missing = append(missing, "the Gitea token is not set: set FIVEAXIS_GITEA_TOKEN or FIVEAXIS_GITEA_TOKEN_FILE")
	}
	if role == roleServe && c.Secrets.WebhookSecret == "" {
		missing = append(missing, "the webhook secret is not set: set FIVEAXIS_WEBHOOK_SECRET or FIVEAXIS_WEBHOOK_SECRET_FILE")
	}
	if c.LLM.URL != "" && c.Secrets.LLMAPIKey == "" && !isLocalURL(c.LLM.URL) {
		missing = append(missing, "llm.url is set but the key is not: set FIVEAXIS_LLM_API_KEY or FIVEAXIS_LLM_API_KEY_FILE")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s needs: %s", role, strings.Join(missing, "; "))
	}
	return nil
}

// isLocalURL reports whether a URL points at this host, where a model server
// (such as a local llama.cpp or Ollama) often needs no key.
func isLocalURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}
