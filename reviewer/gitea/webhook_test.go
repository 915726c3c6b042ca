package gitea_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
)

// The receiver checks the signature before anything else, and answers
// every kind of bad or unhandled delivery without enqueueing.
func TestE2EWebhookRejectsAndIgnores(t *testing.T) {
	f := setup(t, 0)
	good := f.prPayload("opened", 1, strings.Repeat("a", 40), "main", f.srv.AdminUser)
	body, _ := json.Marshal(good)
	edited := f.prPayload("edited", 1, strings.Repeat("a", 40), "develop", f.srv.AdminUser)
	edited["changes"] = map[string]any{"ref": map[string]any{"from": "main"}}
	editedTitle := f.prPayload("edited", 1, strings.Repeat("a", 40), "main", f.srv.AdminUser)
	editedTitle["changes"] = map[string]any{"title": map[string]any{"from": "old"}}
	mustJSON := func(v any) []byte { b, _ := json.Marshal(v); return b }
	huge := append(bytes.Repeat([]byte(" "), gitea.MaxPayload), body...)

	tests := []struct {
		name   string
		event  string
		body   []byte
		sig    string
		want   int
		reason string // the job's reason when one is enqueued
	}{
		{name: "missing signature", event: "pull_request", body: body, sig: "", want: http.StatusUnauthorized},
		{name: "garbage signature", event: "pull_request", body: body, sig: "not-hex", want: http.StatusUnauthorized},
		{name: "signature with another secret", event: "pull_request", body: body, sig: gitea.Sign("other", body), want: http.StatusUnauthorized},
		{name: "signature of another body", event: "pull_request", body: body, sig: gitea.Sign(testSecret, append([]byte(" "), body...)), want: http.StatusUnauthorized},
		{name: "too large", event: "pull_request", body: huge, sig: gitea.Sign(testSecret, huge), want: http.StatusRequestEntityTooLarge},
		{name: "malformed JSON", event: "pull_request", body: []byte(`{"action":`), sig: gitea.Sign(testSecret, []byte(`{"action":`)), want: http.StatusBadRequest},
		{name: "no repository", event: "pull_request", body: []byte(`{"action":"opened"}`), sig: gitea.Sign(testSecret, []byte(`{"action":"opened"}`)), want: http.StatusBadRequest},
		{name: "unhandled event", event: "push", body: body, sig: gitea.Sign(testSecret, body), want: http.StatusNoContent},
		{name: "review event", event: "pull_request_approved", body: body, sig: gitea.Sign(testSecret, body), want: http.StatusNoContent},
		{name: "closed action", event: "pull_request", body: mustJSON(f.prPayload("closed", 1, "a", "main", "x")), want: http.StatusNoContent},
		{name: "edited title only", event: "pull_request", body: mustJSON(editedTitle), want: http.StatusNoContent},
		{name: "bot's own event", event: "pull_request", body: mustJSON(f.prPayload("synchronized", 1, "a", "main", f.srv.BotUser)), want: http.StatusNoContent},
		{name: "edited target", event: "pull_request", body: mustJSON(edited), want: http.StatusAccepted, reason: "base_changed"},
		{name: "opened", event: "pull_request", body: body, sig: gitea.Sign(testSecret, body), want: http.StatusAccepted, reason: "opened"},
		{name: "hub-style signature", event: "pull_request", body: body, sig: "sha256=" + gitea.Sign(testSecret, body), want: http.StatusAccepted, reason: "opened"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			if sig == "" && tt.want != http.StatusUnauthorized {
				sig = gitea.Sign(testSecret, tt.body)
			}
			before := f.queue.Len()
			if code := deliverRaw(f.handler, tt.event, tt.body, sig); code != tt.want {
				t.Fatalf("status = %d, want %d", code, tt.want)
			}
			if tt.reason == "" {
				if f.queue.Len() != before {
					t.Fatal("a job was enqueued")
				}
				return
			}
			if j := f.queue.next(t, nil); j.Reason != tt.reason || j.Kind != reviewer.JobReview || j.Repo != f.repo {
				t.Errorf("job = %+v, want reason %s", j, tt.reason)
			}
		})
	}

	t.Run("GET", func(t *testing.T) {
		rec := httptest.NewRecorder()
		f.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, gitea.WebhookPath, nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("status = %d, want 405", rec.Code)
		}
	})
	t.Run("queue failure is 500", func(t *testing.T) {
		q := newRecQueue()
		q.fail = errors.New("disk full")
		h, err := gitea.NewWebhookHandler(testSecret, f.client, q, f.client.BotUser(), f.log)
		if err != nil {
			t.Fatal(err)
		}
		if code := deliverRaw(h, "pull_request", body, gitea.Sign(testSecret, body)); code != http.StatusInternalServerError {
			t.Errorf("status = %d, want 500", code)
		}
	})
	t.Run("no secret refused", func(t *testing.T) {
		if _, err := gitea.NewWebhookHandler("", f.client, f.queue, "bot", nil); err == nil {
			t.Error("a handler without a secret was built")
		}
	})
}

// racingForge is the real client with one fault injected: just before the
// bot's second read of the PR (the re-read before posting), it changes the
// PR on the server.
type racingForge struct {
	*gitea.Client
	reads  int
	change func()
}

func (r *racingForge) PullRequest(ctx context.Context, repo string, n int64) (*reviewer.PRState, error) {
	r.reads++
	if r.reads == 2 {
		r.change()
	}
	return r.Client.PullRequest(ctx, repo, n)
}

// When the head moves or the PR closes during the review, nothing is
// posted.
func TestE2ENothingPostedWhenPRChangesDuringReview(t *testing.T) {
	tests := []struct {
		name string
		want reviewer.Outcome
		// change is applied to the PR during the review.
		change func(f *fixture, n int64)
	}{
		{"head moved", reviewer.OutcomeHeadMoved, func(f *fixture, n int64) {
			f.write("late.go", "package main\n\n// Late is late.\nconst Late = 1\n")
			sha := f.commit("late push")
			f.push("feature")
			f.waitHead(n, sha)
		}},
		{"closed", reviewer.OutcomeClosed, func(f *fixture, n int64) {
			closed := sdk.StateClosed
			if _, _, err := f.admin.EditPullRequest(f.owner(), f.name(), n, sdk.EditPullRequestOption{State: &closed}); err != nil {
				f.t.Fatalf("close PR: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, 0)
			f.branch("feature", "main")
			f.write("f.go", "package main\n\n// F is f.\nconst F = 1\n")
			f.commit("f")
			f.push("feature")
			n, head := f.openPR("feature", "main", "F")
			forge := &racingForge{Client: f.client, change: func() { tt.change(f, n) }}
			bot := reviewer.NewBot(forge, f.mirrors.Open, f.opts, f.log, "test")
			out, err := bot.Process(f.ctx, reviewer.Job{Kind: reviewer.JobReview, Repo: f.repo, PR: n, HeadSHA: head, Reason: "opened"})
			if err != nil || out != tt.want {
				t.Fatalf("outcome = %s, %v; want %s", out, err, tt.want)
			}
			if rs := f.reviews(n); len(rs) != 0 {
				t.Errorf("%d reviews posted", len(rs))
			}
		})
	}
}
