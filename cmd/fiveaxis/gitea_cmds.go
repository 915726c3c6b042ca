package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/analyzers"
	"github.com/fiveaxis/fiveaxis/reviewer"
	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
	"github.com/fiveaxis/fiveaxis/reviewer/queue"
)

// The Gitea side of the CLI: `fiveaxis review --pr OWNER/REPO#N` and the
// wiring that `fiveaxis serve` shares with it.

// parsePRRef parses "OWNER/REPO#N".
func parsePRRef(s string) (string, int64, error) {
	repo, num, ok := strings.Cut(s, "#")
	if !ok {
		return "", 0, fmt.Errorf("--pr %q: want OWNER/REPO#N", s)
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", 0, fmt.Errorf("--pr %q: want OWNER/REPO#N", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return "", 0, fmt.Errorf("--pr %q: %q is not a PR number", s, num)
	}
	return repo, n, nil
}

// mirrorsDir is where the repository mirrors live.
func mirrorsDir(c Config) string { return filepath.Join(c.DataDir, "mirrors") }

// botParts are the parts of the bot that review and serve share.
type botParts struct {
	client  *gitea.Client
	forge   reviewer.Forge // client, counted in the metrics when there are any
	mirrors *gitea.Mirrors
	bot     *reviewer.Bot
	opts    reviewer.Options
	close   func()
}

// partsOptions choose what newBotParts adds to the bot.
type partsOptions struct {
	// analyzers adds the type-checked analyzers (axes/analyzers), as
	// `fiveaxis review` does by default.
	analyzers bool
	// metrics, when set, counts the forge's failed calls and the posted
	// reviews by verdict.
	metrics *queue.Metrics
}

// newBotParts connects to Gitea as the token's owner and builds the bot
// with the configured checkers.
func (a *app) newBotParts(ctx context.Context, c Config, llm llmFlags, noLLM bool, log *slog.Logger, po partsOptions) (*botParts, error) {
	if c.Gitea.URL == "" {
		return nil, fmt.Errorf("no Gitea URL: set FIVEAXIS_GITEA_URL, gitea.url or --gitea-url")
	}
	if c.Secrets.GiteaToken == "" {
		return nil, fmt.Errorf("no Gitea token: set FIVEAXIS_GITEA_TOKEN or FIVEAXIS_GITEA_TOKEN_FILE")
	}
	filter, err := axes.ParseFilterMode(c.Review.Filter)
	if err != nil {
		return nil, err
	}
	client, err := gitea.New(ctx, c.Gitea.URL, c.Secrets.GiteaToken, gitea.Options{})
	if err != nil {
		return nil, err
	}
	var onUsage func(string, int, int)
	if po.metrics != nil {
		onUsage = po.metrics.AddLLMTokens
	}
	llmChecks, notes, closeLLM, err := a.llmCheckers(c, llm, noLLM, onUsage)
	if err != nil {
		return nil, err
	}
	checkers := append(allCheckers(), llmChecks...)
	if po.analyzers {
		checkers = append(checkers, analyzers.Checkers(analyzers.Options{})...)
	}
	opts := reviewer.Options{
		Checkers:       checkers,
		MaxBehind:      c.Review.MaxBehind,
		Filter:         filter,
		CheckerTimeout: c.Review.CheckerTimeout,
		Notes:          notes,
		Version:        version,
		Dedupe:         analyzers.Dedupe,
	}
	if err := axes.Validate(opts.Checkers); err != nil {
		closeLLM()
		return nil, err
	}
	var forge reviewer.Forge = client
	if po.metrics != nil {
		forge = queue.InstrumentForge(client, po.metrics)
	}
	mirrors := gitea.NewMirrors(mirrorsDir(c), c.Secrets.GiteaToken, client.CloneURL, log)
	return &botParts{
		client:  client,
		forge:   forge,
		mirrors: mirrors,
		bot:     reviewer.NewBot(forge, mirrors.Open, opts, log, version),
		opts:    opts,
		close:   closeLLM,
	}, nil
}

// reviewRemote is `fiveaxis review --pr OWNER/REPO#N`: it reviews the PR's
// head against the PR's own target branch in the local mirror and prints
// the review; with --post the bot processes the PR instead, with all of its
// rules (nothing on a closed PR, one review per head, re-read before
// posting), and the outcome is printed.
func (a *app) reviewRemote(ctx context.Context, f *reviewFlags, c Config) error {
	repo, n, err := parsePRRef(f.pr)
	if err != nil {
		return err
	}
	if f.giteaURL != "" {
		c.Gitea.URL = f.giteaURL
	}
	log, err := a.logger(c)
	if err != nil {
		return err
	}
	p, err := a.newBotParts(ctx, c, f.llm, f.noLLM, log, partsOptions{analyzers: f.analyzers})
	if err != nil {
		return err
	}
	// The first clone of a large repository takes a while: show the
	// server's progress on a terminal, and nothing otherwise.
	if isTerminal(a.stderr) {
		p.mirrors.Progress = a.stderr
	}
	defer p.close()
	if f.post {
		out, err := p.bot.Process(ctx, reviewer.Job{Kind: reviewer.JobReview, Repo: repo, PR: n, Reason: "cli"})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s#%d: %s\n", repo, n, out)
		return err
	}
	pr, err := p.client.PullRequest(ctx, repo, n)
	if err != nil {
		return err
	}
	if !pr.Open() {
		fmt.Fprintf(a.stderr, "note: %s#%d is closed or merged; the bot would post nothing\n", repo, n)
	}
	mirror, release, err := p.mirrors.Open(ctx, pr)
	if err != nil {
		return err
	}
	defer release()
	rv, err := reviewer.Run(ctx, mirror, reviewer.Request{
		BaseRef: pr.BaseRef,
		HeadRef: pr.HeadSHA,
		PR:      &reviewer.PullRequest{Repo: pr.Repo, Number: pr.Number, Title: pr.Title, Body: pr.Body, URL: pr.URL, Author: pr.Author},
	}, p.opts)
	if err != nil {
		return err
	}
	return a.printReview(rv, f.format, p.opts.Checkers)
}

// printReview writes rv in format and turns a blocking verdict into exit
// status 1.
func (a *app) printReview(rv *reviewer.Review, format string, checkers []*axes.Checker) error {
	var err error
	switch format {
	case "json":
		err = reviewer.WriteJSON(a.stdout, rv)
	case "sarif":
		err = reviewer.WriteSARIF(a.stdout, rv, checkers)
	default:
		err = reviewer.WriteMarkdown(a.stdout, rv)
	}
	if err != nil {
		return fmt.Errorf("write review: %w", err)
	}
	if rv.Verdict.Blocking() {
		return exitCodeError{code: exitBlocking}
	}
	return nil
}
