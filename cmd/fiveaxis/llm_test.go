package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeModel is an httptest server speaking the OpenAI chat-completions API.
type fakeModel struct {
	mu     sync.Mutex
	models []string
	auth   []string
}

func (f *fakeModel) start(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model    string                     `json:"model"`
			Messages []struct{ Content string } `json:"messages"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.models = append(f.models, req.Model)
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		content := `{"findings":[]}`
		if strings.Contains(req.Messages[0].Content, "one axis: correctness.") {
			content = `{"findings":[{"rule":"naming","severity":"warning","path":"calc/calc.go","line":8,"end_line":8,"message":"Sub may overflow.","confidence":"high"}]}`
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":%q,"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":%q}}]}`, req.Model, content)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func TestReviewWithLLM(t *testing.T) {
	dir := setupRepo(t, 0)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("test-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantCalls int
		wantModel string
		wantAuth  string
	}{
		{"flags", map[string]string{}, []string{"--llm-url", "URL", "--llm-model", "flag-model"}, 5, "flag-model", ""},
		{"env", map[string]string{"FIVEAXIS_LLM_URL": "URL", "FIVEAXIS_LLM_MODEL": "env-model", "FIVEAXIS_LLM_API_KEY_FILE": keyFile}, nil, 5, "env-model", "Bearer test-key"},
		{"no-llm", map[string]string{"FIVEAXIS_LLM_URL": "URL", "FIVEAXIS_LLM_MODEL": "env-model"}, []string{"--no-llm"}, 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeModel{}
			url := f.start(t)
			env := map[string]string{"FIVEAXIS_DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, "URL", url)
			}
			args := []string{"review", "--repo", dir, "--base", "main", "--format", "markdown"}
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "URL", url))
			}
			code, out, stderr := runCLI(t, env, args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
			}
			if len(f.models) != tt.wantCalls {
				t.Fatalf("model requests = %d, want %d\n%s", len(f.models), tt.wantCalls, out)
			}
			if tt.wantCalls == 0 {
				if !strings.Contains(out, "LLM off") {
					t.Errorf("no LLM-off note:\n%s", out)
				}
				return
			}
			for i := range f.models {
				if f.models[i] != tt.wantModel || f.auth[i] != tt.wantAuth {
					t.Errorf("request %d: model %q auth %q", i, f.models[i], f.auth[i])
				}
			}
			for _, want := range []string{"Sub may overflow.", "LLM reviewed all 1 files", "LLM correctness: 1 requests"} {
				if !strings.Contains(out, want) {
					t.Errorf("review lacks %q:\n%s", want, out)
				}
			}
			if _, err := os.Stat(filepath.Join(env["FIVEAXIS_DATA_DIR"], llmCacheFile)); err != nil {
				t.Errorf("no cache file: %v", err)
			}
		})
	}
}
