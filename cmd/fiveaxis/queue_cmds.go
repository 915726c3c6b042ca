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
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
	"github.com/fiveaxis/fiveaxis/reviewer/queue"
)

// drainTimeout is how long serve and worker let running jobs finish after
// SIGTERM. Jobs still running then are cancelled and retried on the next
// start.
const drainTimeout = 60 * time.Second

// queueOptions maps the config to the queue's options.
// reg, when set, gets metrics (made when nil) and the queue depth.
func queueOptions(c Config, proc reviewer.Processor, sweeper queue.SweepRunner, log *slog.Logger, reg *prometheus.Registry, metrics *queue.Metrics) queue.Options {
	o := queue.Options{
		Database:      c.Database,
		DataDir:       c.DataDir,
		Processor:     proc,
		Concurrency:   c.Queue.Concurrency,
		PerRepo:       c.Queue.PerRepo,
		SweepInterval: c.Sweep.Interval,
		// A review may take as long as all its checkers; give it room.
		JobTimeout: max(10*time.Minute, 4*c.Review.CheckerTimeout),
		Logger:     log.With("component", "queue"),
	}
	if sweeper != nil {
		o.Sweeper = sweeper
	}
	if reg != nil {
		if metrics == nil {
			metrics = queue.NewMetrics(reg)
		}
		o.Metrics = metrics
		o.Registerer = reg
	}
	return o
}

// newSweeper builds the stale-PR sweep over the configured repositories and
// organizations; repos, when given, replace them.
func newSweeper(c Config, forge reviewer.Forge, repos []string, log *slog.Logger) *reviewer.Sweeper {
	scopes := append(append([]string(nil), c.Sweep.Repos...), c.Sweep.Orgs...)
	if len(repos) > 0 {
		scopes = repos
	}
	return &reviewer.Sweeper{Forge: forge, Scopes: scopes, IdleAfter: c.Sweep.IdleAfter, Log: log.With("component", "sweep")}
}

// newRegistry returns the Prometheus registry of one process, with Go and
// process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// riverServeQueue is the durable queue of serve: River on SQLite (default)
// or PostgreSQL, with its workers and the periodic sweep. It also serves
// /readyz and /metrics.
type riverServeQueue struct {
	*queue.Queue
	reg *prometheus.Registry
	log *slog.Logger
}

// newRiverServeQueue opens and migrates the database of serve.
func newRiverServeQueue(ctx context.Context, c Config, proc reviewer.Processor, forge reviewer.Forge, log *slog.Logger,
	reg *prometheus.Registry, metrics *queue.Metrics) (*riverServeQueue, error) {
	opts := queueOptions(c, proc, newSweeper(c, forge, nil, log), log, reg, metrics)
	opts.Migrate = true
	q, err := queue.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	log.Info("queue database", "driver", q.Driver(), "sqlite_file", queue.SQLitePath(c.Database, c.DataDir))
	return &riverServeQueue{Queue: q, reg: reg, log: log}, nil
}

// Run starts the workers and, once ctx ends, stops fetching jobs, lets
// running jobs finish within drainTimeout and closes the database.
func (s *riverServeQueue) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		s.Close()
		return err
	}
	<-ctx.Done()
	s.log.Info("draining the queue", "deadline", drainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	err := s.Shutdown(dctx)
	s.Close()
	return err
}

// Routes adds GET /readyz (database reachable and migrated) and GET
// /metrics to mux.
func (s *riverServeQueue) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
}

// newQueueCmds returns `fiveaxis worker`, `migrate` and `sweep`.
func newQueueCmds(a *app) []*cobra.Command {
	return []*cobra.Command{newWorkerCmd(a), newMigrateCmd(a), newSweepCmd(a)}
}

// loadQueueConfig loads, overrides and validates the config.
func (a *app) loadQueueConfig(database string) (Config, error) {
	cfg, err := loadConfig(a.configPath, a.getenv)
	if err != nil {
		return Config{}, err
	}
	if database != "" {
		cfg.Database = database
	}
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return cfg.withDefaults(), nil
}

func newWorkerCmd(a *app) *cobra.Command {
	var database, listen string
	var noLLM bool
	var llm llmFlags
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run review workers only, against a shared PostgreSQL queue",
		Long: `Run the queue workers without the webhook receiver, to scale out: start
"fiveaxis serve" once and as many "fiveaxis worker" processes as needed, on any
machines, all with the same --database postgres://... . Jobs are shared; none
runs twice at once, and the jobs of a worker that dies are retried by the
others. The worker answers /healthz, /readyz and /metrics on --listen.

Run "fiveaxis migrate" first: worker does not change the schema. On the
embedded SQLite database only one process may run workers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.loadQueueConfig(database)
			if err != nil {
				return err
			}
			if listen != "" {
				c.Listen = listen
			}
			if err := c.requireFor(roleWorker); err != nil {
				return err
			}
			log, err := a.logger(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmdContext(cmd), os.Interrupt, syscall.SIGTERM)
			defer stop()
			reg := newRegistry()
			metrics := queue.NewMetrics(reg)
			p, err := a.newBotParts(ctx, c, llm, noLLM, log, partsOptions{analyzers: !c.Review.DisableAnalyzers, metrics: metrics})
			if err != nil {
				return err
			}
			defer p.close()
			opts := queueOptions(c, p.bot, newSweeper(c, p.forge, nil, log), log, reg, metrics)
			opts.Migrate = queue.SQLitePath(c.Database, c.DataDir) != ""
			q, err := queue.Open(ctx, opts)
			if err != nil {
				return err
			}
			if err := q.Ready(ctx); err != nil {
				q.Close()
				return err
			}
			if q.Driver() == "sqlite" {
				log.Warn("worker on the embedded SQLite database: only one process may run workers; use --database postgres://... to scale out")
			}
			s := &riverServeQueue{Queue: q, reg: reg, log: log}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
			s.Routes(mux)
			srv := &http.Server{Addr: c.Listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			ln, err := net.Listen("tcp", c.Listen)
			if err != nil {
				q.Close()
				return fmt.Errorf("listen %s: %w", c.Listen, err)
			}
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("health server", "err", err)
				}
			}()
			log.Info("worker started", "driver", q.Driver(), "listen", ln.Addr().String())
			err = s.Run(ctx)
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&database, "database", "", "postgres://... URL of the shared queue (default database / FIVEAXIS_DATABASE)")
	fl.StringVar(&listen, "listen", "", "address of /healthz, /readyz and /metrics (default listen / FIVEAXIS_LISTEN)")
	fl.BoolVar(&noLLM, "no-llm", false, "do not use the LLM reviewer even when one is configured")
	llm.register(fl)
	return cmd
}

func newMigrateCmd(a *app) *cobra.Command {
	var database string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the queue's database migrations",
		Long: `Apply River's migrations (and any of fiveaxis's own) to the queue database:
the SQLite file in the data directory, or --database postgres://... .
serve migrates its database on start; worker does not.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.loadQueueConfig(database)
			if err != nil {
				return err
			}
			log, err := a.logger(c)
			if err != nil {
				return err
			}
			q, err := queue.Open(cmdContext(cmd), queue.Options{Database: c.Database, DataDir: c.DataDir, Logger: log})
			if err != nil {
				return err
			}
			defer q.Close()
			applied, err := q.Migrate(cmdContext(cmd))
			if err != nil {
				return err
			}
			if len(applied) == 0 {
				_, err = fmt.Fprintf(a.stdout, "%s queue database is up to date\n", q.Driver())
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "applied %d migrations to the %s queue database: %v\n", len(applied), q.Driver(), applied)
			return err
		},
	}
	cmd.Flags().StringVar(&database, "database", "", "postgres://... URL or sqlite://PATH (default database / FIVEAXIS_DATABASE, else the SQLite file in the data directory)")
	return cmd
}

func newSweepCmd(a *app) *cobra.Command {
	var database string
	var repos []string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run the stale-PR sweep once",
		Long: `List the open pull requests of the configured repositories and organizations
(sweep.repos, sweep.orgs; or --repo) and enqueue a rebase check for each, a
review for each head the bot has not reviewed, and comment once on PRs idle
longer than sweep.idle_after. serve runs the same sweep every sweep.interval
(default 6h). The jobs are enqueued on the queue database; serve or a worker
runs them.

--dry-run prints what the sweep would do as a table and changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmdContext(cmd)
			c, err := a.loadQueueConfig(database)
			if err != nil {
				return err
			}
			if err := c.requireFor(roleWorker); err != nil {
				return err
			}
			log, err := a.logger(c)
			if err != nil {
				return err
			}
			client, err := gitea.New(ctx, c.Gitea.URL, c.Secrets.GiteaToken, gitea.Options{})
			if err != nil {
				return err
			}
			sw := newSweeper(c, client, repos, log)
			// A progress line on stderr when it is a terminal; quiet otherwise.
			if p := newProgress(a.stderr, "sweep: pull requests", 0); p != nil {
				sw.Progress = func(done, total int) { p.total = total; p.Set(done) }
				defer p.Done()
			}
			var actions []reviewer.SweepAction
			if dryRun {
				actions, err = sw.Plan(ctx)
			} else {
				q, oerr := queue.Open(ctx, queue.Options{Database: c.Database, DataDir: c.DataDir, Logger: log,
					Migrate: queue.SQLitePath(c.Database, c.DataDir) != ""})
				if oerr != nil {
					return oerr
				}
				defer q.Close()
				if rerr := q.Ready(ctx); rerr != nil {
					return rerr
				}
				actions, err = sw.Run(ctx, q)
			}
			if perr := printSweep(a, actions, dryRun); perr != nil {
				return perr
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&dryRun, "dry-run", false, "print what the sweep would do; change nothing")
	fl.StringSliceVar(&repos, "repo", nil, "sweep only OWNER/REPO (repeatable); default sweep.repos and sweep.orgs")
	fl.StringVar(&database, "database", "", "postgres://... URL or sqlite://PATH of the queue (default database / FIVEAXIS_DATABASE)")
	return cmd
}

// printSweep prints sweep actions as a table.
func printSweep(a *app, actions []reviewer.SweepAction, dryRun bool) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tREPO\tPR\tHEAD\tREASON")
	for _, x := range actions {
		head := x.HeadSHA
		if len(head) > 12 {
			head = head[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t#%d\t%s\t%s\n", x.Action, x.Repo, x.PR, head, x.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	verb := "enqueued or posted"
	if dryRun {
		verb = "planned (dry run: nothing changed)"
	}
	_, err := fmt.Fprintf(a.stdout, "%d actions %s\n", len(actions), strings.TrimSpace(verb))
	return err
}

// cmdContext returns the command's context or Background.
func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}
