package gitea_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/architecture"
	"github.com/fiveaxis/fiveaxis/axes/correctness"
	"github.com/fiveaxis/fiveaxis/axes/performance"
	"github.com/fiveaxis/fiveaxis/axes/readability"
	"github.com/fiveaxis/fiveaxis/axes/security"
	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
)

// BenchmarkWebhookToReview measures the latency from the delivery of a
// signed pull_request webhook (an HTTP POST to the receiver) to the review
// and the commit status being posted on the real Gitea, for a small PR (one
// new Go file), with the heuristic rules of the five axes and no LLM. The
// receiver, the in-process queue, the mirror fetch, the review and the
// posting are all real; each iteration is a new PR in the same repository
// (the mirror is warm after the first). Reports p50-ms and p90-ms.
func BenchmarkWebhookToReview(b *testing.B) {
	f := setup(b, 0)
	var checkers []*axes.Checker
	for _, set := range []func() []*axes.Checker{correctness.Checkers, readability.Checkers, architecture.Checkers, security.Checkers, performance.Checkers} {
		checkers = append(checkers, set()...)
	}
	opts := reviewer.Options{Checkers: checkers, Notes: []string{"LLM off: heuristics and static analysis only."}}
	bot := reviewer.NewBot(f.client, f.mirrors.Open, opts, f.log, "bench")
	done := make(chan reviewer.Outcome, 1)
	q := reviewer.NewInlineQueue(bot, reviewer.InlineQueueOptions{Workers: 1, OnDone: func(j reviewer.Job, o reviewer.Outcome, err error) {
		if err != nil {
			b.Errorf("job: %v", err)
		}
		done <- o
	}}, f.log)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	go q.Run(ctx)
	h, err := gitea.NewWebhookHandler(testSecret, f.client, q, f.client.BotUser(), f.log)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		branch := fmt.Sprintf("bench-%d", i)
		f.branch(branch, "main")
		f.write(fmt.Sprintf("pkg%d/util.go", i), fmt.Sprintf("// Package pkg%d has a helper.\npackage pkg%d\n\n// Double doubles n.\nfunc Double(n int) int {\n\treturn 2 * n\n}\n", i, i))
		f.commit("add a helper")
		f.push(branch)
		n, head := f.openPR(branch, "main", "Add a helper")
		body, _ := json.Marshal(f.prPayload("opened", n, head, "main", f.srv.AdminUser))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+gitea.WebhookPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Gitea-Event", "pull_request")
		req.Header.Set("X-Gitea-Signature", gitea.Sign(testSecret, body))
		b.StartTimer()

		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("webhook = %d", resp.StatusCode)
		}
		if out := <-done; out != reviewer.OutcomePosted {
			b.Fatalf("outcome = %s", out)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.9), "p90-ms")
}
