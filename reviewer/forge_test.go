package reviewer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

// CapComments keeps the most recent comments within the caps.
func TestCapComments(t *testing.T) {
	var many []string
	for i := range 30 {
		many = append(many, fmt.Sprint("c", i))
	}
	got := CapComments(many)
	if len(got) != MaxPRComments || got[0] != "c10" || got[len(got)-1] != "c29" {
		t.Errorf("30 comments kept as %q", got)
	}
	big := strings.Repeat("x", MaxPRCommentBytes-10)
	if got := CapComments([]string{"old", big, "new comment"}); len(got) != 1 || got[0] != "new comment" {
		t.Errorf("byte cap: kept %d comments", len(got))
	}
	got = CapComments([]string{"old", strings.Repeat("é", MaxPRCommentBytes)})
	if len(got) != 1 || len(got[0]) > MaxPRCommentBytes+50 || !strings.HasSuffix(got[0], "[the rest of the comment was cut]") || !utf8.ValidString(got[0]) {
		t.Errorf("a huge comment was not cut cleanly (%d bytes)", len(got[0]))
	}
	if got := CapComments(nil); len(got) != 0 {
		t.Errorf("CapComments(nil) = %q", got)
	}
}

// commentForge lists PR comments, or fails to.
type commentForge struct {
	Forge
	comments []string
	err      error
}

func (f *commentForge) PRComments(context.Context, string, int64) ([]string, error) {
	return f.comments, f.err
}

// The bot reads the PR's comments when the forge can list them, capped; a
// failure to read them is logged and the review goes on without them.
func TestBotPRComments(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	pr := &PRState{Repo: "o/r", Number: 3}
	ctx := context.Background()

	b := NewBot(&commentForge{comments: []string{"a", "b"}}, nil, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
	if got := b.prComments(ctx, log, pr); strings.Join(got, "|") != "a|b" {
		t.Errorf("comments = %q", got)
	}
	b = NewBot(&commentForge{err: errors.New("HTTP 500")}, nil, Options{}, log, "test")
	if got := b.prComments(ctx, log, pr); got != nil {
		t.Errorf("comments after a failure = %q, want none", got)
	}
	if !strings.Contains(logs.String(), "cannot read the PR's comments") {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
	b = NewBot(struct{ Forge }{}, nil, Options{}, log, "test")
	if got := b.prComments(ctx, log, pr); got != nil {
		t.Errorf("comments from a forge without CommentLister = %q", got)
	}
}
