package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestLoggerRedactsSecrets(t *testing.T) {
	c := Config{
		Database: "postgres://fiveaxis:" + testDBPassword + "@db/fiveaxis",
		Secrets:  SecretsConfig{GiteaToken: testToken, WebhookSecret: testWebhookSecret, LLMAPIKey: testLLMKey},
	}
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			c.Log.Format = format
			log, err := newLogger(&buf, c)
			if err != nil {
				t.Fatal(err)
			}
			log = log.With("repo", "o/r", "pr", 7, "head_sha", "abc", "job_id", 42)
			log.Info("token is "+testToken, "secret", testWebhookSecret, "key", []string{testLLMKey})
			log.Error("post review", "err", errors.New("GET https://x/?token="+testToken+" failed"),
				"db", c.Database, slog.Group("g", "s", testWebhookSecret))
			out := buf.String()
			assertNoSecrets(t, out)
			if !strings.Contains(out, "[REDACTED]") {
				t.Errorf("no [REDACTED] marker:\n%s", out)
			}
			for _, attr := range []string{"repo", "pr", "head_sha", "job_id"} {
				if !strings.Contains(out, attr) {
					t.Errorf("log lacks %s:\n%s", attr, out)
				}
			}
			if format == "json" {
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var m map[string]any
					if err := json.Unmarshal([]byte(line), &m); err != nil {
						t.Errorf("not a JSON line after redaction: %v\n%s", err, line)
					}
				}
			}
		})
	}
}

func TestLoggerFormatAndLevel(t *testing.T) {
	tests := []struct {
		name     string
		log      LogConfig
		wantJSON bool
		wantDbg  bool
		err      string
	}{
		{"default is JSON off a terminal", LogConfig{}, true, false, ""},
		{"text", LogConfig{Format: "text"}, false, false, ""},
		{"debug", LogConfig{Level: "debug"}, true, true, ""},
		{"upper case level", LogConfig{Level: "WARN"}, true, false, ""},
		{"bad level", LogConfig{Level: "loud"}, false, false, "log.level"},
		{"bad format", LogConfig{Format: "xml"}, false, false, "log.format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := newLogger(&buf, Config{Log: tt.log})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("dbg")
			log.Warn("hello")
			out := buf.String()
			if got := strings.HasPrefix(out, "{"); got != tt.wantJSON {
				t.Errorf("JSON = %v, want %v:\n%s", got, tt.wantJSON, out)
			}
			if got := strings.Contains(out, "dbg"); got != tt.wantDbg {
				t.Errorf("debug shown = %v, want %v", got, tt.wantDbg)
			}
		})
	}
}

func TestProgressQuietOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "sweep", 10)
	for i := range 10 {
		p.Set(i + 1)
	}
	p.Done()
	if buf.Len() != 0 {
		t.Errorf("progress wrote to a non-terminal: %q", buf.String())
	}
	if progressWriter(&buf) == &buf {
		t.Error("progressWriter passes a non-terminal through")
	}
}
