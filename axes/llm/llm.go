// Package llm is the optional model-based reviewer of fiveaxis: one checker
// per axis ("correctness/llm", ...) that sends the PR's diff to any
// OpenAI-compatible chat-completions server (OpenAI, Azure OpenAI, Ollama,
// vLLM, llama.cpp server, LocalAI) through github.com/sashabaranov/go-openai,
// plus the model-free security/prompt-injection checker.
//
// What it guarantees:
//
//   - The verdict stays with the rules. The five model checkers are Late
//     (axes.Checker.Late): they run after the rules and analyzers and see
//     their findings through axes.Pass.Prior, which they use to rank what to
//     send first. Model findings are capped at severity warning, with one
//     exception: a finding the model marks "error" with confidence "high"
//     keeps severity error when its lines overlap an error-severity
//     heuristic or analyzer finding of the same axis on the same path; its
//     message names that rule. (Agreement with a warning leaves it a
//     warning; the prompt-injection rule never counts as agreeing.) A model
//     finding is therefore never more severe than the rule it agrees with,
//     so a model can never approve, never clear or lower a rule's finding,
//     and never change the verdict (fixed rules, see reviewer.Decide): what
//     hostile PR text talks it into changes nothing but notes. A model
//     failure never fails the review (the checker notes "LLM unavailable"
//     and returns nil).
//   - PR text is data. Title, body, comments and diff go into delimited data
//     sections (see package prompts); phrases that address a reviewer are
//     reported by PromptInjection, which needs no model.
//   - Secrets never leave: every hunk and the PR text pass through a Redactor
//     (gitleaks rules, PEM private keys, high-entropy tokens); .env files and
//     files matching Config.NeverSend are not sent at all.
//   - Token budget and honest coverage. One plan is made per review and
//     shared by the five axis checkers: the diff is cut into chunks (a file,
//     or groups of its hunks when the file is large); files are ranked by
//     the rules' findings on them (the more and the more severe, the
//     earlier), then by risk (file kind, security-sensitive names, churn);
//     and the riskiest files are sent first, whole, while the whole review's
//     input tokens, counted offline with tiktoken, stay within
//     Config.Budget. The review says how many files the model saw and how
//     many tokens it cost.
//   - Incremental reviews. Results are cached per (prompt version, model,
//     axis, hash of the chunk), so a re-push sends only changed chunks.
//     Chunks left out for lack of budget are remembered as deferred and are
//     not sent on later pushes either, unless they change.
//
// The per-review plan is keyed by the *axes.Input that axes.Run shares
// between all checkers of one run; the key is a weak pointer, so a plan is
// dropped when its run is garbage collected.
package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	openai "github.com/sashabaranov/go-openai"
	"github.com/tiktoken-go/tokenizer"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/prompts"
)

// Config configures the model. Zero values mean the defaults given below.
type Config struct {
	// BaseURL is the API base, e.g. https://api.openai.com/v1 (default),
	// http://localhost:11434/v1 for Ollama, or the Azure resource endpoint.
	BaseURL string
	// Model is the model name, or the deployment name on Azure. Default
	// gpt-4o-mini on OpenAI; required with a custom BaseURL.
	Model string
	// APIKey is the bearer token (api-key on Azure). Local servers need none.
	APIKey string
	// Organization is the OpenAI organization header, if any.
	Organization string
	// Azure selects Azure OpenAI: BaseURL is the resource endpoint and Model
	// the deployment.
	Azure bool
	// AzureAPIVersion is the api-version query parameter (default
	// 2024-10-21, which supports structured outputs).
	AzureAPIVersion string
	// Budget is the input-token budget of one whole review, all axes
	// together (default 60000).
	Budget int
	// NeverSend lists path globs (axes.MatchPath syntax) whose content is
	// never sent.
	NeverSend []string
	// RequestTimeout limits each HTTP attempt (default 60s).
	RequestTimeout time.Duration
	// ReviewTimeout limits the model work of one review (default 3m). The
	// checker also stops early enough to return before its own deadline.
	ReviewTimeout time.Duration
	// Concurrency caps concurrent model requests across all reviews of the
	// process (default 4).
	Concurrency int
	// MaxRequestTokens caps the input tokens of one request (default 16000).
	MaxRequestTokens int
	// MaxRetries is how often a 429, a 5xx or a transport error is retried
	// (default 3).
	MaxRetries int
	// RetryDelay is the first backoff delay, doubled on each retry (default
	// 1s). Retry-After overrides it.
	RetryDelay time.Duration
	// HTTPClient is the client to use; nil means a new http.Client.
	HTTPClient *http.Client
	// Logger receives debug and error logs; nil means slog.Default().
	Logger *slog.Logger
	// OnUsage, when set, is called after every answered request with the
	// token usage the server reported (for metrics).
	OnUsage func(model string, input, output int)
}

// Defaults.
const (
	DefaultBudget           = 60000
	DefaultModel            = "gpt-4o-mini"
	DefaultAzureAPIVersion  = "2024-10-21"
	DefaultRequestTimeout   = 60 * time.Second
	DefaultReviewTimeout    = 3 * time.Minute
	DefaultConcurrency      = 4
	DefaultMaxRequestTokens = 16000
	DefaultMaxRetries       = 3
)

// Enabled reports whether cfg turns the model on: a key or a URL is set.
func Enabled(cfg Config) bool { return cfg.APIKey != "" || cfg.BaseURL != "" }

func (c Config) withDefaults() Config {
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	if c.Model == "" && c.BaseURL == "" && !c.Azure {
		c.Model = DefaultModel
	}
	if c.AzureAPIVersion == "" {
		c.AzureAPIVersion = DefaultAzureAPIVersion
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.ReviewTimeout <= 0 {
		c.ReviewTimeout = DefaultReviewTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxRequestTokens <= 0 {
		c.MaxRequestTokens = DefaultMaxRequestTokens
	}
	if c.MaxRetries < 0 {
		c.MaxRetries = 0
	} else if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate checks a configuration before use.
func (c Config) Validate() error {
	if !Enabled(c) {
		return errors.New("llm: neither an API key nor a URL is configured")
	}
	if c.Model == "" && (c.BaseURL != "" || c.Azure) {
		return errors.New("llm: a model (the deployment name on Azure) is required with a custom URL")
	}
	if c.Azure && c.BaseURL == "" {
		return errors.New("llm: Azure needs the resource endpoint as the URL")
	}
	if c.Budget < 0 {
		return errors.New("llm: budget must not be negative")
	}
	return nil
}

// Reviewer is the model client with its budget planner, cache, redactor and
// global concurrency limit. One Reviewer serves every review of a process.
type Reviewer struct {
	cfg    Config
	client *openai.Client
	store  Store
	codec  tokenizer.Codec
	// schemaTokens is what the findings schema adds to a request.
	schemaTokens int
	redactor     *Redactor
	sem          chan struct{}
	log          *slog.Logger
	// format is the response-format level the server accepts (formatSchema
	// until it rejects one).
	format atomic.Int32

	mu    sync.Mutex
	plans map[weak.Pointer[axes.Input]]*plan
}

// New returns a Reviewer for cfg, caching in store (nil means an in-memory
// store).
func New(cfg Config, store Store) (*Reviewer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	codec, err := tokenizer.Get(tokenizer.O200kBase)
	if err != nil {
		return nil, fmt.Errorf("llm: tokenizer: %w", err)
	}
	red, err := NewRedactor()
	if err != nil {
		return nil, err
	}
	if store == nil {
		store = NewMemoryStore()
	}
	rv := &Reviewer{
		cfg:      cfg,
		client:   newClient(cfg),
		store:    store,
		codec:    codec,
		redactor: red,
		sem:      make(chan struct{}, cfg.Concurrency),
		log:      cfg.Logger,
		plans:    map[weak.Pointer[axes.Input]]*plan{},
	}
	rv.schemaTokens = countSchemaTokens(rv.tokens, prompts.Schema())
	return rv, nil
}

// Model returns the configured model name.
func (r *Reviewer) Model() string { return r.cfg.Model }

// Checkers returns one checker per axis, "<axis>/llm", in axis order. They
// share this Reviewer's per-review plan and budget.
func (r *Reviewer) Checkers() []*axes.Checker {
	out := make([]*axes.Checker, 0, len(axes.All))
	for _, a := range axes.All {
		out = append(out, &axes.Checker{
			Name: string(a) + "/llm",
			Doc: fmt.Sprintf("Model review of the %s axis. ", a) +
				"An OpenAI-compatible model reads the riskiest changed hunks within the token budget and reports what the rules cannot see. " +
				"Its findings are warnings at most, unless it is highly confident of an error on lines where a rule or analyzer of the same axis reported an error: " +
				"it never approves, never blocks, and never changes the verdict.",
			Axis:     a,
			Severity: axes.SeverityWarning,
			// After the rules: the plan ranks files by their findings, and
			// a finding's severity may rise only where a rule agrees.
			Late: true,
			// The model's own review limit, plus a margin for the checker
			// to note what it managed before stopping.
			Timeout: r.cfg.ReviewTimeout + 10*time.Second,
			Run: func(ctx context.Context, pass *axes.Pass) error {
				r.runAxis(ctx, pass, a)
				return nil
			},
		})
	}
	return out
}

// planFor returns the plan shared by all checkers of the run that owns in.
func (r *Reviewer) planFor(in *axes.Input) *plan {
	key := weak.Make(in)
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.plans[key]; ok {
		return p
	}
	p := &plan{}
	r.plans[key] = p
	runtime.AddCleanup(in, func(k weak.Pointer[axes.Input]) {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.plans, k)
	}, key)
	return p
}

// pendingPlans returns how many plans are alive (for tests).
func (r *Reviewer) pendingPlans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.plans)
}
