package queue

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of the bot. They are registered on
// the registry given to NewMetrics, never on the global one. The collectors
// are exported so that other parts (the Bot, the LLM client) can add to them.
type Metrics struct {
	// Jobs counts finished job attempts by kind and outcome (posted,
	// duplicate, closed, head_moved, not_due, no_access, skipped, retry,
	// error, repo_busy, ...).
	Jobs *prometheus.CounterVec
	// JobDuration observes how long each job attempt ran, by kind.
	JobDuration *prometheus.HistogramVec
	// ReviewsPosted counts posted reviews by verdict.
	ReviewsPosted *prometheus.CounterVec
	// ForgeErrors counts failed forge API calls by operation.
	ForgeErrors *prometheus.CounterVec
	// LLMTokens counts LLM tokens by direction ("input" or "output") and
	// model.
	LLMTokens *prometheus.CounterVec
	// Enqueued counts jobs handed to Enqueue by kind and result ("inserted"
	// or "duplicate"); Coalesced counts jobs cancelled because a newer head
	// of their PR arrived.
	Enqueued  *prometheus.CounterVec
	Coalesced prometheus.Counter

	reg prometheus.Registerer
}

// NewMetrics creates the collectors and registers them on reg. A nil reg
// gives working collectors that are not exported anywhere.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fiveaxis_jobs_total",
			Help: "Finished job attempts by kind and outcome.",
		}, []string{"kind", "outcome"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fiveaxis_job_duration_seconds",
			Help:    "Duration of job attempts by kind.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"kind"}),
		ReviewsPosted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fiveaxis_reviews_posted_total",
			Help: "Reviews posted by verdict.",
		}, []string{"verdict"}),
		ForgeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fiveaxis_forge_errors_total",
			Help: "Failed forge API calls by operation.",
		}, []string{"op"}),
		LLMTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fiveaxis_llm_tokens_total",
			Help: "LLM tokens by direction (input, output) and model.",
		}, []string{"direction", "model"}),
		Enqueued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fiveaxis_jobs_enqueued_total",
			Help: "Jobs handed to the queue by kind and result (inserted, duplicate).",
		}, []string{"kind", "result"}),
		Coalesced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fiveaxis_jobs_coalesced_total",
			Help: "Queued jobs cancelled because a newer head of their PR arrived.",
		}),
		reg: reg,
	}
	if reg != nil {
		reg.MustRegister(m.Jobs, m.JobDuration, m.ReviewsPosted, m.ForgeErrors, m.LLMTokens, m.Enqueued, m.Coalesced)
	}
	return m
}

// ReviewPosted counts one posted review with its verdict. The Bot calls it.
func (m *Metrics) ReviewPosted(verdict string) { m.ReviewsPosted.WithLabelValues(verdict).Inc() }

// ForgeError counts one failed forge API call.
func (m *Metrics) ForgeError(op string) { m.ForgeErrors.WithLabelValues(op).Inc() }

// AddLLMTokens counts tokens sent to (input) and received from (output) a
// model.
func (m *Metrics) AddLLMTokens(model string, input, output int) {
	m.LLMTokens.WithLabelValues("input", model).Add(float64(input))
	m.LLMTokens.WithLabelValues("output", model).Add(float64(output))
}

// depthCollector reports the number of jobs per kind and state from River's
// job table each time Prometheus scrapes.
type depthCollector struct {
	desc  *prometheus.Desc
	count func(ctx context.Context) ([]depthRow, error)
	log   *slog.Logger
}

type depthRow struct {
	Kind, State string
	N           int64
}

func newDepthCollector(count func(ctx context.Context) ([]depthRow, error), log *slog.Logger) *depthCollector {
	return &depthCollector{
		desc: prometheus.NewDesc("fiveaxis_queue_depth",
			"Jobs in River's job table that are not finished, by kind and state.",
			[]string{"kind", "state"}, nil),
		count: count,
		log:   log,
	}
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.count(ctx)
	if err != nil {
		c.log.Warn("queue depth", "err", err)
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(r.N), r.Kind, r.State)
	}
}
