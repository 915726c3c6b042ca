package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/analyzers"
	"github.com/fiveaxis/fiveaxis/gitops"
	"github.com/fiveaxis/fiveaxis/reviewer"
)

type reviewFlags struct {
	repo         string
	base         string
	head         string
	format       string
	noLLM        bool
	llm          llmFlags
	maxBehind    int
	filter       string
	pr           string // OWNER/REPO#N: review a remote PR
	giteaURL     string
	post         bool
	analyzers    bool // type-checked analyzers (axes/analyzers)
	analyzersSet bool // --analyzers was given (it then wins over the config)
}

func newReviewCmd(a *app) *cobra.Command {
	f := &reviewFlags{}
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Review a local branch or a Gitea PR and print the review",
		Long: `Review the head of a local repository against its target branch, exactly
as the bot would, and print the review. Nothing is posted.

With --pr OWNER/REPO#N, review a pull request on Gitea instead (against the
PR's own target branch, in the mirror under the data directory); --post
posts the review on the PR as the bot, with the bot's rules.

Exit status: 0 for approve or comment, 1 for request_changes or needs_rebase,
2 when the review could not be made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.analyzersSet = cmd.Flags().Changed("analyzers")
			return a.review(cmd.Context(), f, cmd.Flags().Changed("max-behind"))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.repo, "repo", ".", "path of the git repository (work tree or bare)")
	fl.StringVar(&f.base, "base", "", "target branch or revision (default: the remote's default branch, else main, else master)")
	fl.StringVar(&f.head, "head", "HEAD", "head revision to review")
	fl.StringVar(&f.format, "format", "markdown", "output format: markdown, json or sarif")
	fl.BoolVar(&f.noLLM, "no-llm", false, "do not use the LLM reviewer even when one is configured")
	f.llm.register(fl)
	fl.IntVar(&f.maxBehind, "max-behind", reviewer.DefaultMaxBehind, "needs a rebase when the target has more than this many commits the head lacks")
	fl.BoolVar(&f.analyzers, "analyzers", true, "run the type-checked analyzers (go vet, staticcheck, gosec) on the changed packages; --analyzers=false for the AST rules only")
	fl.StringVar(&f.filter, "filter", "", "which findings to keep: added (lines the PR added; default), diff_context or file")
	fl.StringVar(&f.pr, "pr", "", "review the Gitea pull request OWNER/REPO#N (uses FIVEAXIS_GITEA_URL and the token)")
	fl.StringVar(&f.giteaURL, "gitea-url", "", "Gitea server URL for --pr (default: gitea.url / FIVEAXIS_GITEA_URL)")
	fl.BoolVar(&f.post, "post", false, "with --pr: post the review on the PR as the bot, instead of printing it")
	return cmd
}

func (a *app) review(ctx context.Context, f *reviewFlags, maxBehindSet bool) error {
	switch f.format {
	case "markdown", "md", "json", "sarif":
	default:
		return fmt.Errorf("unknown --format %q (want markdown, json or sarif)", f.format)
	}
	cfg, err := loadConfig(a.configPath, a.getenv)
	if err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	c := cfg.withDefaults()
	if maxBehindSet {
		if f.maxBehind < 0 {
			return fmt.Errorf("--max-behind must not be negative")
		}
		c.Review.MaxBehind = f.maxBehind
	}
	if f.filter != "" {
		c.Review.Filter = f.filter
	}
	if !f.analyzersSet && c.Review.DisableAnalyzers {
		f.analyzers = false
	}
	if f.pr != "" {
		return a.reviewRemote(ctx, f, c)
	}
	if f.post || f.giteaURL != "" {
		return fmt.Errorf("--post and --gitea-url need --pr")
	}
	filter, err := axes.ParseFilterMode(c.Review.Filter)
	if err != nil {
		return err
	}
	repo, err := gitops.Open(f.repo)
	if err != nil {
		return err // gitops names the path
	}
	defer repo.Close()
	base := f.base
	if base == "" {
		if base, err = repo.DefaultBranch(); err != nil {
			return fmt.Errorf("no --base given and no default branch found: %w", err)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	llmChecks, notes, closeLLM, err := a.llmCheckers(c, f.llm, f.noLLM, nil)
	if err != nil {
		return err
	}
	defer closeLLM()
	checkers := append(allCheckers(), llmChecks...)
	if f.analyzers {
		checkers = append(checkers, analyzers.Checkers(analyzers.Options{})...)
	}
	rv, err := reviewer.Run(ctx, repo, reviewer.Request{BaseRef: base, HeadRef: f.head}, reviewer.Options{
		Checkers:       checkers,
		MaxBehind:      c.Review.MaxBehind,
		Filter:         filter,
		CheckerTimeout: c.Review.CheckerTimeout,
		Notes:          notes,
		Version:        version,
		Dedupe:         analyzers.Dedupe,
	})
	if err != nil {
		return err
	}
	if f.head == "HEAD" {
		if abs, err := filepath.Abs(f.repo); err == nil {
			rv.Title = filepath.Base(abs) + "@HEAD"
		}
	}
	return a.printReview(rv, f.format, checkers)
}
