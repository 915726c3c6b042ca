package llm

import (
	"context"
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
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
	"github.com/fiveaxis/fiveaxis/prompts"
)

// chatRequest is the part of a chat-completions request the tests inspect.
type chatRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict bool            `json:"strict"`
		} `json:"json_schema"`
	} `json:"response_format"`
}

func (c chatRequest) system() string { return c.Messages[0].Content }
func (c chatRequest) user() string   { return c.Messages[len(c.Messages)-1].Content }

// axis returns the axis named by the system prompt.
func (c chatRequest) axis() string {
	for _, a := range prompts.Axes() {
		if strings.Contains(c.system(), "one axis: "+a+".") {
			return a
		}
	}
	return ""
}

// fakeLLM is an httptest server speaking the OpenAI chat-completions API. It
// records every request and answers with a scripted handler.
type fakeLLM struct {
	srv *httptest.Server
	mu  sync.Mutex
	// bodies holds every raw request body, including rejected ones.
	bodies []string
	reqs   []chatRequest
	// answer is called for request number n (0-based); it either writes a
	// response itself (returning "", false) or returns the reply content.
	answer func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool)
}

func newFake(tb testing.TB, answer func(n int, req chatRequest, w http.ResponseWriter, r *http.Request) (string, bool)) *fakeLLM {
	tb.Helper()
	f := &fakeLLM{answer: answer}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *fakeLLM) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.bodies = append(f.bodies, string(body))
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	content, ok := f.answer(n, req, w, r)
	if !ok {
		return
	}
	writeReply(w, req.Model, content)
}

func writeReply(w http.ResponseWriter, model, content string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
		"usage": map[string]any{"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
	})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error"}}`, msg)
}

func (f *fakeLLM) requests() []chatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatRequest(nil), f.reqs...)
}

func (f *fakeLLM) allBodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

// empty answers every request with no findings.
func empty(int, chatRequest, http.ResponseWriter, *http.Request) (string, bool) {
	return `{"findings":[]}`, true
}

// bundle is what most tests need.
type bundle struct {
	fake  *fakeLLM
	rv    *Reviewer
	store *MemoryStore
}

func setup(tb testing.TB, cfg Config, answer func(int, chatRequest, http.ResponseWriter, *http.Request) (string, bool)) *bundle {
	tb.Helper()
	b := &bundle{fake: newFake(tb, answer), store: NewMemoryStore()}
	cfg.BaseURL = b.fake.srv.URL + "/v1"
	if cfg.Model == "" {
		cfg.Model = "test-model"
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = 10 * time.Millisecond
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	rv, err := New(cfg, b.store)
	if err != nil {
		tb.Fatal(err)
	}
	b.rv = rv
	return b
}

// run runs checkers on the repository's input and fails on checker errors.
func run(tb testing.TB, in axes.Input, checkers []*axes.Checker, timeout time.Duration) *axes.Result {
	tb.Helper()
	if timeout == 0 {
		timeout = time.Minute
	}
	res, err := axes.Run(context.Background(), checkers, in, axes.Options{Timeout: timeout})
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range res.Errors {
		tb.Errorf("checker error: %v", e)
	}
	return res
}

// build makes a git repository with base and head trees and returns its input.
func build(tb testing.TB, base, head map[string]string) axes.Input {
	tb.Helper()
	c := &axestest.Case{Name: "t", Base: map[string][]byte{}, Head: map[string][]byte{}}
	for p, s := range base {
		c.Base[p] = []byte(s)
	}
	for p, s := range head {
		c.Head[p] = []byte(s)
	}
	if len(c.Base) == 0 {
		c.Base["README.md"] = []byte("base\n")
	}
	return axestest.Build(tb, c).Input
}

func noteWith(res *axes.Result, substr string) string {
	for _, n := range res.Notes {
		if strings.Contains(n, substr) {
			return n
		}
	}
	return ""
}

func only(cs []*axes.Checker, name string) []*axes.Checker {
	for _, c := range cs {
		if c.Name == name {
			return []*axes.Checker{c}
		}
	}
	return nil
}

func write(tb testing.TB, dir, p, content string) {
	tb.Helper()
	full := filepath.Join(dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}
