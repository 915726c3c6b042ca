// Package queue benchmarks durable webhook intake: the Gitea webhook
// receiver checking the HMAC signature and enqueueing a review on the River
// queue, over real HTTP, on SQLite and on PostgreSQL. See RESULTS.md.
package queue

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
	"github.com/fiveaxis/fiveaxis/reviewer/queue"
)

const secret = "bench-secret"

func pgURL() string {
	if u := os.Getenv("FIVEAXIS_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// nopProcessor completes every job at once: the workers run, as in serve,
// and compete with intake for the database.
type nopProcessor struct{}

func (nopProcessor) Process(context.Context, reviewer.Job) (reviewer.Outcome, error) {
	return reviewer.OutcomeDuplicate, nil
}

func payload(repo string, pr int64, head string) []byte {
	return fmt.Appendf(nil, `{"action":"synchronized","number":%d,"pull_request":{"number":%d,"state":"open",`+
		`"head":{"ref":"feature","sha":%q},"base":{"ref":"main","sha":"0000000000000000000000000000000000000000"}},`+
		`"repository":{"full_name":%q,"name":"r","owner":{"login":"o"}},"sender":{"login":"dev"}}`, pr, pr, head, repo)
}

func openQueue(b *testing.B, driver string) *queue.Queue {
	b.Helper()
	ctx := context.Background()
	opts := queue.Options{Processor: nopProcessor{}, Migrate: true, Logger: slog.New(slog.DiscardHandler)}
	switch driver {
	case "sqlite":
		opts.Database = "sqlite://" + filepath.Join(b.TempDir(), "fiveaxis.db")
	case "postgres":
		conn, err := pgx.Connect(ctx, pgURL())
		if err != nil {
			b.Fatal(err)
		}
		schema := fmt.Sprintf("fiveaxis_bench_%d", time.Now().UnixNano())
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); conn.Close(ctx) })
		opts.Database, opts.Schema = pgURL(), schema
	}
	q, err := queue.Open(ctx, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Shutdown(context.Background()); q.Close() })
	return q
}

// nopForge satisfies the receiver; pull-request events never call it.
type nopForge struct{ reviewer.Forge }

// BenchmarkIntake posts signed "synchronized" webhooks from 16 concurrent
// senders and reports events/s and latency percentiles. Each event is a new
// head of one of 50 PRs, so each one is a real insert plus coalescing.
func BenchmarkIntake(b *testing.B) {
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			q := openQueue(b, driver)
			h, err := gitea.NewWebhookHandler(secret, nopForge{}, q, "fiveaxis-bot", slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			const senders = 16
			send := sender(b, client, srv.URL)
			var next atomic.Int64
			var mu sync.Mutex
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range senders {
				wg.Go(func() {
					var mine []time.Duration
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							break
						}
						d, ok := send(i)
						if !ok {
							return
						}
						mine = append(mine, d)
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			report(b, lat, elapsed)
		})
	}
}

// BenchmarkIntakeAt500 sends signed webhooks at a fixed 500 events/s, each
// on its own connection slot, and reports the latency at that load: the
// target is p99 under 50 ms on SQLite.
func BenchmarkIntakeAt500(b *testing.B) {
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			q := openQueue(b, driver)
			h, err := gitea.NewWebhookHandler(secret, nopForge{}, q, "fiveaxis-bot", slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
			send := sender(b, client, srv.URL)
			var mu sync.Mutex
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			start := time.Now()
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			var wg sync.WaitGroup
			for i := int64(1); i <= int64(b.N); i++ {
				<-tick.C
				wg.Go(func() {
					if d, ok := send(i); ok {
						mu.Lock()
						lat = append(lat, d)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			report(b, lat, elapsed)
		})
	}
}

// sender returns a function that posts the i-th signed event and returns
// its latency.
func sender(b *testing.B, client *http.Client, url string) func(i int64) (time.Duration, bool) {
	return func(i int64) (time.Duration, bool) {
		body := payload("o/r", i%50+1, fmt.Sprintf("%040x", i))
		req, _ := http.NewRequest(http.MethodPost, url+gitea.WebhookPath, bytes.NewReader(body))
		req.Header.Set("X-Gitea-Event", "pull_request")
		req.Header.Set("X-Gitea-Signature", gitea.Sign(secret, body))
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Error(err)
			return 0, false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			b.Errorf("HTTP %d", resp.StatusCode)
			return 0, false
		}
		return time.Since(t0), true
	}
}

func report(b *testing.B, lat []time.Duration, elapsed time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}
