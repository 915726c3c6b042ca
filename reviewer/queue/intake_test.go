package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// TestConcurrentEnqueueDurable checks group commit: many concurrent Enqueue
// calls, batched into shared transactions, are each committed when they
// return (a new connection sees every job, and so does the queue reopened),
// redeliveries in one batch make one job, and coalescing across and within
// batches leaves exactly one queued review per PR, the latest.
func TestConcurrentEnqueueDurable(t *testing.T) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d, func(o *Options) { o.Debounce = time.Hour })
			const senders, perSender, prs = 48, 10, 8
			ctx := context.Background()
			var wg sync.WaitGroup
			var mu sync.Mutex
			returned := 0
			for g := range senders {
				wg.Go(func() {
					for i := range perSender {
						// A new head of one of prs PRs, and a webhook every
						// sender redelivers.
						jobs := []reviewer.Job{review("o/r", int64(g%prs+1), fmt.Sprintf("g%02d-%02d", g, i))}
						if i == 0 {
							jobs = append(jobs, review("o/other", 1, "same"))
						}
						if err := b.q.Enqueue(ctx, jobs...); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						returned++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if returned != senders*perSender {
				t.Fatalf("%d of %d Enqueue calls returned nil", returned, senders*perSender)
			}
			want := map[string]int64{"scheduled": prs + 1, "cancelled": senders*perSender - prs}
			check := func(how string, got map[string]int64) {
				t.Helper()
				for state, n := range want {
					if got[state] != n {
						t.Errorf("%s: %d review jobs %s, want %d (all: %v)", how, got[state], state, n, got)
					}
				}
				var total int64
				for _, n := range got {
					total += n
				}
				if total != senders*perSender+1 {
					t.Errorf("%s: %d review jobs, want %d", how, total, senders*perSender+1)
				}
			}
			// A connection of its own sees every job: they were committed
			// before Enqueue returned. The newest job of a PR is never
			// cancelled, so prs+1 scheduled jobs means one per PR (and the
			// one redelivered job).
			check("new connection", countReviewJobs(t, b.opts))
			ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			b.q.Shutdown(ctx2)
			b.q.Close()
			if err := b.q.Enqueue(ctx, review("o/r", 1, "after-close")); !errors.Is(err, errClosed) {
				t.Errorf("Enqueue after Close: %v, want errClosed", err)
			}
			o := b.opts
			o.Migrate = false
			q2, err := Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer q2.Close()
			c, err := q2.JobCounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			check("reopened", c[KindReviewPR])
		})
	}
}

// countReviewJobs counts review jobs by state over a new database
// connection, outside the Queue.
func countReviewJobs(t *testing.T, o Options) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]int64{}
	q := "SELECT state, count(*) FROM river_job WHERE kind = 'review_pr' GROUP BY state"
	if path := SQLitePath(o.Database, o.DataDir); path != "" {
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			var n int64
			if err := rows.Scan(&s, &n); err != nil {
				t.Fatal(err)
			}
			out[s] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	conn, err := pgx.Connect(ctx, o.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT state::text, count(*) FROM "+pgx.Identifier{o.Schema, "river_job"}.Sanitize()+
		" WHERE kind = 'review_pr' GROUP BY state")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
