package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
	"github.com/fiveaxis/fiveaxis/reviewer/queue"
)

type serveFlags struct {
	listen     string
	noLLM      bool
	llm        llmFlags
	pruneAfter time.Duration
	database   string
}

func newServeCmd(a *app) *cobra.Command {
	f := &serveFlags{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Gitea webhook receiver and the review workers",
		Long: `Run the webhook receiver at POST /webhook/gitea and the workers that review
pull requests and post the reviews as the bot (the user that owns the
token), with the checkers of "fiveaxis review" (type-checked analyzers
included). GET /healthz answers 200 while the server runs; /readyz and
/metrics report the queue.

Settings come from the environment or the config file: FIVEAXIS_GITEA_URL,
FIVEAXIS_GITEA_TOKEN (or _FILE), FIVEAXIS_WEBHOOK_SECRET (or _FILE) and
FIVEAXIS_DATA_DIR. serve refuses to start without a webhook secret. Secrets
are never taken from flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.serve(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "", "address to listen on (default :8080, or listen / FIVEAXIS_LISTEN)")
	fl.BoolVar(&f.noLLM, "no-llm", false, "do not use the LLM reviewer even when one is configured")
	f.llm.register(fl)
	fl.DurationVar(&f.pruneAfter, "prune-mirrors-after", 30*24*time.Hour, "remove repository mirrors not used for this long (0: never)")
	fl.StringVar(&f.database, "database", "", "queue database: postgres://... or sqlite://PATH (default database / FIVEAXIS_DATABASE, else <data_dir>/fiveaxis.db)")
	return cmd
}

func (a *app) serve(ctx context.Context, f *serveFlags) error {
	cfg, err := loadConfig(a.configPath, a.getenv)
	if err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
	if f.database != "" {
		cfg.Database = f.database
	}
	c := cfg.withDefaults()
	if err := c.requireFor(roleServe); err != nil {
		return err
	}
	log, err := a.logger(c)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.Info("starting fiveaxis serve", "version", versionString(), "config", c.redacted())
	if err := os.MkdirAll(c.DataDir, 0o755); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	reg := newRegistry()
	metrics := queue.NewMetrics(reg)
	p, err := a.newBotParts(ctx, c, f.llm, f.noLLM, log, partsOptions{analyzers: !c.Review.DisableAnalyzers, metrics: metrics})
	if err != nil {
		return err
	}
	defer p.close()
	log = log.With("bot", p.client.BotUser())

	jobs, err := newServeQueue(ctx, c, p.bot, p.forge, log, reg, metrics)
	if err != nil {
		return err
	}
	hook, err := gitea.NewWebhookHandler(c.Secrets.WebhookSecret, p.forge, jobs, p.client.BotUser(), log)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(gitea.WebhookPath, hook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	if r, ok := jobs.(interface{ Routes(*http.ServeMux) }); ok {
		r.Routes(mux) // /readyz and /metrics
	}
	srv := &http.Server{
		Addr:              c.Listen,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.Listen, err)
	}
	log.Info("listening", "addr", ln.Addr().String(), "webhook", gitea.WebhookPath)

	errc := make(chan error, 3)
	queueDone := make(chan struct{})
	go func() { errc <- jobs.Run(ctx); close(queueDone) }()
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve: %w", err)
		}
	}()
	if f.pruneAfter > 0 {
		go pruneMirrors(ctx, p.mirrors, f.pruneAfter, log)
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stop()
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil {
		log.Warn("http shutdown", "err", serr)
	}
	<-queueDone // running jobs finish or are cut off within the drain deadline
	return err
}

// serveQueue is what serve needs from a job queue: an Enqueuer for the
// webhook receiver and a Run loop that processes jobs until ctx ends.
type serveQueue interface {
	reviewer.Enqueuer
	Run(ctx context.Context) error
}

// newServeQueue builds the job queue of serve: the durable River queue of
// reviewer/queue on the SQLite file in the data directory, or on
// PostgreSQL, migrated on start, with the periodic sweep over forge. It
// also serves /readyz and /metrics of reg, where metrics are registered
// (see riverServeQueue).
func newServeQueue(ctx context.Context, c Config, proc reviewer.Processor, forge reviewer.Forge, log *slog.Logger,
	reg *prometheus.Registry, metrics *queue.Metrics) (serveQueue, error) {
	return newRiverServeQueue(ctx, c, proc, forge, log, reg, metrics)
}

// pruneMirrors removes idle mirrors once an hour until ctx ends.
func pruneMirrors(ctx context.Context, m *gitea.Mirrors, after time.Duration, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if removed, err := m.Prune(after); err != nil {
			log.Warn("prune mirrors", "err", err)
		} else if len(removed) > 0 {
			log.Info("pruned idle mirrors", "repos", removed)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
