package queue

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fiveaxis/fiveaxis/reviewer"
)

// listForge is a reviewer.Forge whose only working calls are the comment
// listers; the listing of the PR's comments fails when fail is set.
type listForge struct {
	reviewer.Forge
	fail bool
}

func (f *listForge) BotComments(context.Context, string, int64) ([]string, error) {
	return []string{"bot"}, nil
}

func (f *listForge) PRComments(context.Context, string, int64) ([]string, error) {
	if f.fail {
		return nil, errors.New("boom")
	}
	return []string{"human"}, nil
}

// prOnlyForge lists the PR's comments but not the bot's.
type prOnlyForge struct{ reviewer.Forge }

func (prOnlyForge) PRComments(context.Context, string, int64) ([]string, error) {
	return []string{"human"}, nil
}

// The wrapper offers each comment lister exactly when the wrapped forge
// does, and counts the failures of PRComments.
func TestInstrumentForgeListers(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	ctx := context.Background()

	both := &listForge{}
	w := InstrumentForge(both, m)
	cl, ok := w.(reviewer.CommentLister)
	if !ok {
		t.Fatal("the wrapper of a forge with both listers lacks PRComments")
	}
	bl, ok := w.(reviewer.BotCommentLister)
	if !ok {
		t.Fatal("the wrapper of a forge with both listers lacks BotComments")
	}
	if got, err := cl.PRComments(ctx, "o/r", 1); err != nil || len(got) != 1 || got[0] != "human" {
		t.Errorf("PRComments = %q, %v", got, err)
	}
	if got, err := bl.BotComments(ctx, "o/r", 1); err != nil || len(got) != 1 || got[0] != "bot" {
		t.Errorf("BotComments = %q, %v", got, err)
	}
	both.fail = true
	if _, err := cl.PRComments(ctx, "o/r", 1); err == nil {
		t.Error("the failure of PRComments was lost")
	}
	if got := counterValue(t, m.ForgeErrors.WithLabelValues(opPRComments)); got != 1 {
		t.Errorf("fiveaxis_forge_errors_total{op=pr_comments} = %v, want 1", got)
	}

	w = InstrumentForge(prOnlyForge{}, m)
	if _, ok := w.(reviewer.CommentLister); !ok {
		t.Error("the wrapper of a forge with PRComments only lacks it")
	}
	if _, ok := w.(reviewer.BotCommentLister); ok {
		t.Error("the wrapper offers BotComments the forge lacks")
	}

	w = InstrumentForge(struct{ reviewer.Forge }{}, m)
	if _, ok := w.(reviewer.CommentLister); ok {
		t.Error("the wrapper offers PRComments the forge lacks")
	}
}
