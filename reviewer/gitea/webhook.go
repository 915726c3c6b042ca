package gitea

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// WebhookPath is where the receiver is mounted.
const WebhookPath = "/webhook/gitea"

// MaxPayload is the largest webhook body accepted (5 MiB); larger ones get
// 413.
const MaxPayload = 5 << 20

// WebhookHandler receives Gitea webhooks at POST /webhook/gitea. It verifies
// X-Gitea-Signature before reading the payload, turns the events it handles
// into jobs and answers 202 only once they are enqueued:
//
//   - 401 for a missing or bad signature, 405 for a method other than POST,
//     413 for a body over 5 MiB, 400 for a malformed payload;
//   - 204 for events it does not handle, for events the bot caused itself and
//     for commands from users without write access;
//   - 500 when the queue (or the permission check) fails, so that the
//     delivery can be redelivered.
type WebhookHandler struct {
	secret []byte
	forge  reviewer.Forge
	queue  reviewer.Enqueuer
	bot    string
	log    *slog.Logger
}

// NewWebhookHandler returns the receiver. secret must not be empty; bot is
// the bot's login, whose own events are ignored; forge answers write-access
// checks for commands.
func NewWebhookHandler(secret string, forge reviewer.Forge, queue reviewer.Enqueuer, bot string, log *slog.Logger) (*WebhookHandler, error) {
	if secret == "" {
		return nil, errors.New("webhook: no secret configured")
	}
	if forge == nil || queue == nil {
		return nil, errors.New("webhook: forge and queue are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &WebhookHandler{secret: []byte(secret), forge: forge, queue: queue, bot: bot, log: log}, nil
}

// Sign returns the X-Gitea-Signature of body under secret: the hex
// HMAC-SHA256 of the raw body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// validSignature compares sig with the HMAC of body in constant time.
func (h *WebhookHandler) validSignature(sig string, body []byte) bool {
	got, err := hex.DecodeString(strings.TrimPrefix(strings.TrimSpace(sig), "sha256="))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, h.secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// ServeHTTP implements http.Handler.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	delivery := r.Header.Get("X-Gitea-Delivery")
	log := h.log.With("delivery", delivery, "event", r.Header.Get("X-Gitea-Event"))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayload))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.Warn("webhook: payload too large")
			http.Error(w, "payload too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if !h.validSignature(r.Header.Get("X-Gitea-Signature"), body) {
		log.Warn("webhook: bad or missing signature", "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	ev, err := DecodeEvent(r.Header.Get("X-Gitea-Event"), body)
	switch {
	case errors.Is(err, ErrUnhandled):
		log.Debug("webhook: ignored", "reason", err)
		w.WriteHeader(http.StatusNoContent)
		return
	case err != nil:
		log.Warn("webhook: malformed payload", "err", err)
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	log = log.With("repo", ev.Repo, "pr", ev.PR, "sender", ev.Sender)
	job, status, why, err := h.job(r.Context(), ev)
	if err != nil {
		log.Error("webhook: cannot handle event", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if job == nil {
		log.Debug("webhook: ignored", "reason", why)
		w.WriteHeader(status)
		return
	}
	if err := h.queue.Enqueue(r.Context(), *job); err != nil {
		log.Error("webhook: enqueue failed", "err", err)
		http.Error(w, "enqueue failed", http.StatusInternalServerError)
		return
	}
	log.Info("webhook: job enqueued", "kind", job.Kind, "reason", job.Reason, "head_sha", job.HeadSHA)
	w.WriteHeader(http.StatusAccepted)
}

// job turns an event into a job, or says why there is none.
func (h *WebhookHandler) job(ctx context.Context, ev *Event) (*reviewer.Job, int, string, error) {
	if h.bot != "" && strings.EqualFold(ev.Sender, h.bot) {
		return nil, http.StatusNoContent, "event caused by the bot itself", nil
	}
	switch ev.Kind {
	case EventPRChanged:
		reason := ev.Action
		if ev.Action == "edited" {
			reason = "base_changed"
		}
		return &reviewer.Job{Kind: reviewer.JobReview, Repo: ev.Repo, PR: ev.PR, HeadSHA: ev.HeadSHA, Reason: reason}, 0, "", nil
	case EventCommand:
		ok, err := h.forge.CanWrite(ctx, ev.Repo, ev.Sender)
		if err != nil {
			return nil, 0, "", err
		}
		if !ok {
			return nil, http.StatusNoContent, "command from a user without write access", nil
		}
		job := &reviewer.Job{Repo: ev.Repo, PR: ev.PR, Reason: "comment:" + ev.Command}
		if ev.Command == CommandRebaseCheck {
			job.Kind = reviewer.JobRebaseCheck
		} else {
			job.Kind, job.Force = reviewer.JobReview, true
		}
		return job, 0, "", nil
	}
	return nil, http.StatusNoContent, "unknown event kind", nil
}
