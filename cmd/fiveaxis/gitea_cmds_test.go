package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestParsePRRef(t *testing.T) {
	tests := []struct {
		in   string
		repo string
		n    int64
		ok   bool
	}{
		{"owner/repo#12", "owner/repo", 12, true},
		{"o/r#1", "o/r", 1, true},
		{"o/r", "", 0, false},
		{"o/r#0", "", 0, false},
		{"o/r#-3", "", 0, false},
		{"o/r#x", "", 0, false},
		{"o#1", "", 0, false},
		{"o/r/s#1", "", 0, false},
		{"/r#1", "", 0, false},
	}
	for _, tt := range tests {
		repo, n, err := parsePRRef(tt.in)
		if (err == nil) != tt.ok || repo != tt.repo || n != tt.n {
			t.Errorf("parsePRRef(%q) = %q, %d, %v", tt.in, repo, n, err)
		}
	}
}

// serve refuses to start without a webhook secret, and never takes one
// from a flag.
func TestServeRefusesWithoutSecret(t *testing.T) {
	env := map[string]string{
		"FIVEAXIS_GITEA_URL":   "http://127.0.0.1:1",
		"FIVEAXIS_GITEA_TOKEN": "0123456789abcdef",
		"FIVEAXIS_DATA_DIR":    t.TempDir(),
	}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	var stdout, stderr bytes.Buffer
	if code := run([]string{"serve", "--listen", "127.0.0.1:0"}, &stdout, &stderr, getenv); code != exitError {
		t.Fatalf("exit %d, want %d", code, exitError)
	}
	if !strings.Contains(stderr.String(), "FIVEAXIS_WEBHOOK_SECRET") {
		t.Errorf("stderr does not say which secret is missing: %s", stderr.String())
	}
	if code := run([]string{"serve", "--webhook-secret", "x"}, &stdout, &stderr, getenv); code == exitOK {
		t.Error("serve accepted a secret flag")
	}
	if code := run([]string{"review", "--post"}, &stdout, &stderr, getenv); code != exitError || !strings.Contains(stderr.String(), "--pr") {
		t.Errorf("review --post without --pr: exit %d, %s", code, stderr.String())
	}
}
