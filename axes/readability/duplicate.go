package readability

import (
	"context"
	"fmt"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// DuplicateCode reports blocks of added code that repeat another added
// block line for line.
var DuplicateCode = &axes.Checker{
	Name: "readability/duplicate-code",
	Doc: "Copy-pasted block. " +
		"The PR adds the same run of lines (eight or more, ignoring indentation, blank lines and comments) " +
		"in two places; the copies will drift apart when one is fixed and the other is not. Extract the " +
		"shared code into a function.",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runDuplicateCode,
}

// dupWindow is the number of consecutive normalised lines that must match.
const dupWindow = 8

// codeLine is one normalised, added, non-trivial line.
type codeLine struct {
	path string
	line int
	text string
}

func runDuplicateCode(ctx context.Context, pass *axes.Pass) error {
	type at struct {
		path       string
		from, to   int
		startIndex int
	}
	seen := map[string]at{}
	reported := map[string]bool{}
	for _, g := range pass.ChangedGoFiles(false) {
		lines := addedCodeLines(pass, g)
		for i := 0; i+dupWindow <= len(lines); i++ {
			win := lines[i : i+dupWindow]
			if !contiguous(win) || !substantive(win) {
				continue
			}
			var b strings.Builder
			for _, l := range win {
				b.WriteString(l.text)
				b.WriteByte('\n')
			}
			key := b.String()
			first, ok := seen[key]
			if !ok {
				seen[key] = at{path: g.Path, from: win[0].line, to: win[len(win)-1].line, startIndex: i}
				continue
			}
			if first.path == g.Path && win[0].line <= first.to {
				continue // overlapping repetition, e.g. a run of identical lines
			}
			id := fmt.Sprintf("%s:%d", first.path, first.from)
			if reported[id] {
				// Extend silently: one finding per pair of copies.
				continue
			}
			reported[id] = true
			pass.Report(axes.Finding{Path: g.Path, Line: win[0].line, EndLine: win[len(win)-1].line,
				Message: fmt.Sprintf("These lines repeat %s:%d-%d line for line; extract the shared code into a "+
					"function so a later fix cannot reach only one copy.", first.path, first.from, first.to)})
			// Skip past this window so the same pair is not reported at every
			// offset.
			i += dupWindow - 1
		}
	}
	return nil
}

// addedCodeLines returns g's added lines, normalised, without blank lines,
// comments and lines that are only punctuation.
func addedCodeLines(pass *axes.Pass, g *axes.GoFile) []codeLine {
	var out []codeLine
	for i, raw := range strings.Split(string(g.Src), "\n") {
		n := i + 1
		if !pass.IsAdded(g.Path, n) {
			continue
		}
		t := strings.TrimSpace(raw)
		if t == "" || strings.HasPrefix(t, "//") || strings.Trim(t, "{}()[],;") == "" {
			continue
		}
		out = append(out, codeLine{path: g.Path, line: n, text: t})
	}
	return out
}

// contiguous reports whether a window spans at most twice its length in
// source lines, so that it is one block rather than scattered lines.
func contiguous(win []codeLine) bool {
	return win[len(win)-1].line-win[0].line < 2*len(win)
}

// substantive reports whether most lines of a window carry real code, not
// boilerplate such as "return err" or "if err != nil {".
func substantive(win []codeLine) bool {
	n := 0
	for _, l := range win {
		switch {
		case len(l.text) < 16, strings.HasSuffix(l.text, "err"), strings.HasPrefix(l.text, "if err != nil"),
			strings.HasPrefix(l.text, "case "), strings.HasPrefix(l.text, "import"), strings.HasPrefix(l.text, "\""):
		default:
			n++
		}
	}
	return n >= dupWindow*3/4
}
