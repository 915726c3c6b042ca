package readability

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// CommentedOutCode reports runs of comment lines that are Go code.
var CommentedOutCode = &axes.Checker{
	Name: "readability/commented-out-code",
	Doc: "Commented-out code. " +
		"Two or more consecutive comment lines that parse as Go statements or declarations are dead code " +
		"that readers must still skim and that rots as the code around it changes; delete it (version " +
		"control keeps the history).",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runCommentedOutCode,
}

// codeHint matches text with the punctuation that Go code has and prose
// rarely does.
var codeHint = regexp.MustCompile(`:=|[^=!<>]=[^=]|\(.*\)|[{};]$|^[})]|\+\+|--$|^return\b|^(if|for|switch|defer|go|var|const|func|type)\b`)

func runCommentedOutCode(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		var bodies []*ast.BlockStmt
		for _, d := range g.AST.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				bodies = append(bodies, fd.Body)
			}
		}
		for _, cg := range g.AST.Comments {
			// Inside a function body, indentation is the code's own; outside,
			// an indented line is a doc-comment example.
			inBody := false
			for _, b := range bodies {
				if b.Pos() < cg.Pos() && cg.End() < b.End() {
					inBody = true
				}
			}
			var run []*ast.Comment
			flush := func() {
				defer func() { run = nil }()
				if len(run) < 2 {
					return
				}
				var b strings.Builder
				for _, c := range run {
					b.WriteString(commentText(c))
					b.WriteByte('\n')
				}
				if !parsesAsGo(b.String()) {
					return
				}
				from, to := g.Line(run[0].Pos()), g.Line(run[len(run)-1].Pos())
				sev := axes.SeverityWarning
				if len(run) == 2 {
					sev = axes.SeverityInfo
				}
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Severity: sev,
					Message: "These comment lines are commented-out code, which readers must skim and which rots as " +
						"the code around it changes; delete it (version control keeps the history)."})
			}
			for i, c := range cg.List {
				if len(run) == 0 && (indented(c) || i > 0 && introducesExample(cg.List[i-1])) {
					continue // an example under a prose line, not code that was switched off
				}
				if isCodeLine(c, inBody) {
					run = append(run, c)
					continue
				}
				flush()
			}
			flush()
		}
	}
	return nil
}

// commentText returns a line comment's text without "//" and one space.
func commentText(c *ast.Comment) string {
	t := strings.TrimPrefix(c.Text, "//")
	return strings.TrimPrefix(t, " ")
}

// isCodeLine reports whether a comment line could be a line of code: a
// "//" comment, not a directive, not indented like a doc example, with
// code punctuation.
func isCodeLine(c *ast.Comment, inBody bool) bool {
	if !strings.HasPrefix(c.Text, "//") {
		return false
	}
	raw := strings.TrimPrefix(c.Text, "//")
	if strings.HasPrefix(raw, "go:") || strings.HasPrefix(raw, "nolint") || strings.HasPrefix(raw, "line ") ||
		strings.HasPrefix(raw, "export ") || strings.HasPrefix(raw, " +build") {
		return false
	}
	if !inBody && (strings.HasPrefix(raw, "\t") || strings.HasPrefix(raw, "  ")) {
		return false // an indented example in a doc comment
	}
	t := strings.TrimSpace(raw)
	if t == "" || strings.Contains(t, "://") {
		return false
	}
	return codeHint.MatchString(t)
}

// parsesAsGo reports whether src is a list of Go statements or top-level
// declarations.
func parsesAsGo(src string) bool {
	fset := token.NewFileSet()
	if _, err := parser.ParseFile(fset, "", "package p\nfunc _() {\n"+src+"\n}\n", parser.SkipObjectResolution); err == nil {
		return true
	}
	_, err := parser.ParseFile(fset, "", "package p\n"+src, parser.SkipObjectResolution)
	return err == nil
}

// TodoWithoutOwner reports TODO-style comments with no owner or issue.
var TodoWithoutOwner = &axes.Checker{
	Name: "readability/todo-without-owner",
	Doc: "TODO without an owner or issue. " +
		"A TODO, FIXME or XXX that names nobody and links no issue tends to stay forever; write TODO(name) " +
		"or reference an issue (#123 or a URL) so someone follows it up.",
	Axis:     axes.Readability,
	Severity: axes.SeverityInfo,
	Run:      runTodoWithoutOwner,
}

var (
	todoRE  = regexp.MustCompile(`\b(TODO|FIXME|XXX|HACK)\b`)
	ownerRE = regexp.MustCompile(`\b(TODO|FIXME|XXX|HACK)\([^)]+\)|#\d+|://|@\w+|\b[A-Z][A-Z0-9]+-\d+\b`)
)

func runTodoWithoutOwner(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(true) {
		for _, cg := range g.AST.Comments {
			for _, c := range cg.List {
				if !todoRE.MatchString(c.Text) || ownerRE.MatchString(c.Text) {
					continue
				}
				kw := todoRE.FindString(c.Text)
				pass.Report(axes.Finding{Path: g.Path, Line: g.Line(c.Pos()),
					Message: "This " + kw + " has no owner or issue, so nobody is on the hook to follow it up; write " +
						kw + "(name) or link an issue."})
			}
		}
	}
	return nil
}

// indented reports whether a line comment's text is indented beyond the
// usual single space.
func indented(c *ast.Comment) bool {
	raw := strings.TrimPrefix(c.Text, "//")
	raw = strings.TrimPrefix(raw, " ")
	return strings.HasPrefix(raw, " ") || strings.HasPrefix(raw, "\t")
}

// introducesExample reports whether a comment line ends with a colon, as
// prose before an example does.
func introducesExample(c *ast.Comment) bool {
	return strings.HasSuffix(strings.TrimSpace(c.Text), ":")
}
