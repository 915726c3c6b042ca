package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/term"
)

// isTerminal reports whether w (a writer or a reader) is a terminal, not a
// file, pipe or /dev/null.
func isTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// newLogger builds the process logger from c.Log, writing to w: JSON unless
// log.format says text or (when it is empty) w is a terminal, at log.level.
// Every secret value of c (tokens, keys, the database password) is replaced
// by [REDACTED] wherever it would appear in a line, so a secret that slips
// into an error message still never reaches the log.
//
// serve, worker and sweep use it; attributes about a job are added by the
// caller: logger.With("repo", r, "pr", n, "head_sha", sha, "job_id", id).
func newLogger(w io.Writer, c Config) (*slog.Logger, error) {
	var level slog.Level
	if c.Log.Level != "" {
		if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
			return nil, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level)
		}
	}
	if s := c.secretValues(); len(s) > 0 {
		w = newRedactWriter(w, s)
	}
	opts := &slog.HandlerOptions{Level: level}
	format := c.Log.Format
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "text"
		}
	}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format: %q is not json or text", c.Log.Format)
}

// logger returns the logger of a command: newLogger on the command's stderr.
func (a *app) logger(c Config) (*slog.Logger, error) {
	return newLogger(a.stderr, c)
}

// redactWriter replaces secrets in every write. The slog handlers write one
// whole line per call, so a secret is never split across writes.
type redactWriter struct {
	mu   sync.Mutex
	w    io.Writer
	olds [][]byte
}

// newRedactWriter returns a writer that replaces each secret, as is and in
// its JSON- and Go-quoted forms, with [REDACTED].
func newRedactWriter(w io.Writer, secrets []string) io.Writer {
	rw := &redactWriter{w: w}
	seen := map[string]bool{}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		j, _ := json.Marshal(s)
		q := strconv.Quote(s)
		for _, form := range []string{s, string(j[1 : len(j)-1]), q[1 : len(q)-1]} {
			if !seen[form] {
				seen[form] = true
				rw.olds = append(rw.olds, []byte(form))
			}
		}
	}
	return rw
}

// Write writes p with the secrets replaced; it reports len(p) on success.
func (rw *redactWriter) Write(p []byte) (int, error) {
	out := p
	for _, old := range rw.olds {
		if bytes.Contains(out, old) {
			out = bytes.ReplaceAll(out, old, []byte("[REDACTED]"))
		}
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if _, err := rw.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Fd lets isTerminal see through the wrapper.
func (rw *redactWriter) Fd() uintptr {
	if f, ok := rw.w.(*os.File); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}

// progress shows the progress of a long CLI operation (the first clone of a
// large repository, a sweep over many PRs) on one line of stderr, and only
// when stderr is a terminal: in logs and CI it prints nothing. A nil
// *progress is valid and silent.
//
//	p := newProgress(a.stderr, "sweep", len(prs))
//	for i := range prs { ...; p.Set(i + 1) }
//	p.Done()
type progress struct {
	w     io.Writer
	label string
	total int
	last  time.Time
	shown bool
}

// newProgress returns a progress line for total steps (0 when unknown), or
// nil when w is not a terminal.
func newProgress(w io.Writer, label string, total int) *progress {
	if !isTerminal(w) {
		return nil
	}
	return &progress{w: w, label: label, total: total}
}

// Set reports that done steps are finished; redraws at most ten times a
// second.
func (p *progress) Set(done int) {
	if p == nil || (time.Since(p.last) < 100*time.Millisecond && done != p.total) {
		return
	}
	p.last = time.Now()
	p.shown = true
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r\x1b[K%s: %d/%d (%d%%)", p.label, done, p.total, done*100/p.total)
	} else {
		fmt.Fprintf(p.w, "\r\x1b[K%s: %d", p.label, done)
	}
}

// Done ends the progress line.
func (p *progress) Done() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprintln(p.w)
}

// progressWriter returns w when it is a terminal and io.Discard otherwise:
// for libraries that report progress as text, such as go-git's
// CloneOptions.Progress during the first mirror clone.
func progressWriter(w io.Writer) io.Writer {
	if isTerminal(w) {
		return w
	}
	return io.Discard
}
