package giteatest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Sign returns the X-Gitea-Signature of body: the hex HMAC-SHA256 with
// secret, as Gitea computes it.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Deliver POSTs payload (JSON-encoded) to url as Gitea delivers a webhook:
// with X-Gitea-Event and, when secret is not empty, X-Gitea-Signature. It
// returns the HTTP status.
func Deliver(ctx context.Context, url, secret, event string, payload any) (int, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gitea-Event", event)
	if secret != "" {
		req.Header.Set("X-Gitea-Signature", Sign(secret, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("deliver %s: %w", event, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// PRPayload is a pull_request webhook payload as Gitea sends it (the fields
// the bot reads, and a few more), for PR n of r with the given head SHA,
// target branch and sender.
func (r *Repo) PRPayload(action string, n int64, head, base, sender string) map[string]any {
	return map[string]any{
		"action": action,
		"number": n,
		"pull_request": map[string]any{
			"number": n, "state": "open",
			"head": map[string]any{"ref": "feature", "sha": head},
			"base": map[string]any{"ref": base},
		},
		"repository": r.repoPayload(),
		"sender":     map[string]any{"login": sender},
	}
}

// CommentPayload is an issue_comment payload on PR n with body by sender.
func (r *Repo) CommentPayload(n int64, body, sender string) map[string]any {
	return map[string]any{
		"action":     "created",
		"issue":      map[string]any{"number": n, "pull_request": map[string]any{"merged": false}},
		"comment":    map[string]any{"body": body, "user": map[string]any{"login": sender}},
		"repository": r.repoPayload(),
		"sender":     map[string]any{"login": sender},
		"is_pull":    true,
	}
}

func (r *Repo) repoPayload() map[string]any {
	return map[string]any{"full_name": r.FullName, "name": r.Name, "owner": map[string]any{"login": r.Owner}}
}
