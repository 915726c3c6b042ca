package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/llm"
)

// llmFlags are the review command's model flags; they override llm.url and
// llm.model (and FIVEAXIS_LLM_URL, FIVEAXIS_LLM_MODEL).
type llmFlags struct {
	url   string
	model string
}

func (f *llmFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.url, "llm-url", "", "base URL of an OpenAI-compatible chat API, e.g. http://localhost:11434/v1 (default $FIVEAXIS_LLM_URL)")
	fl.StringVar(&f.model, "llm-model", "", "model name, or the deployment on Azure (default $FIVEAXIS_LLM_MODEL)")
}

// llmCacheFile is the model-result cache in the data directory.
const llmCacheFile = "llm-cache.db"

// llmCheckers returns the checkers the LLM settings add, the notes that
// describe the model's state, and a function that releases the cache. The
// prompt-injection checker is always returned: it needs no model. The five
// model checkers are added when a key or URL is configured and off is false.
// A cache that cannot be opened falls back to memory with a note; it never
// stops the review.
func (a *app) llmCheckers(c Config, f llmFlags, off bool, onUsage func(model string, input, output int)) ([]*axes.Checker, []string, func(), error) {
	checkers := []*axes.Checker{llm.PromptInjection()}
	nop := func() {}
	if f.url != "" {
		c.LLM.URL = f.url
	}
	if f.model != "" {
		c.LLM.Model = f.model
	}
	logger, err := a.logger(c)
	if err != nil {
		return nil, nil, nop, err
	}
	cfg := llm.Config{
		BaseURL:      c.LLM.URL,
		Model:        c.LLM.Model,
		APIKey:       c.Secrets.LLMAPIKey,
		Organization: c.LLM.Organization,
		Azure:        c.LLM.Azure,
		Budget:       c.LLM.Budget,
		NeverSend:    c.LLM.NeverSend,
		Logger:       logger,
		OnUsage:      onUsage,
	}
	if off || !llm.Enabled(cfg) {
		return checkers, []string{"LLM off: heuristics and static analysis only."}, nop, nil
	}
	var notes []string
	var store llm.Store
	closeFn := nop
	if err := os.MkdirAll(c.DataDir, 0o755); err == nil {
		if s, err := llm.OpenSQLiteStore(filepath.Join(c.DataDir, llmCacheFile)); err == nil {
			store, closeFn = s, func() { s.Close() }
		} else {
			notes = append(notes, fmt.Sprintf("LLM cache unavailable (%v); results are not kept between runs.", err))
		}
	} else {
		notes = append(notes, fmt.Sprintf("LLM cache unavailable (%v); results are not kept between runs.", err))
	}
	rv, err := llm.New(cfg, store)
	if err != nil {
		closeFn()
		return nil, nil, nop, fmt.Errorf("llm: %w", err)
	}
	return append(checkers, rv.Checkers()...), notes, closeFn, nil
}
