package security

import (
	"context"
	"go/ast"
	"go/token"
	"strconv"
	"strings"
	"time"
)

// nameWords splits an identifier into lower-case words at case changes,
// underscores, hyphens and digits: "apiKeyID" -> [api key id].
func nameWords(s string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ':
			flush()
			continue
		case r >= 'A' && r <= 'Z':
			// A new word starts at an upper-case letter that follows a
			// lower-case one, or that precedes one in an acronym (IDToken).
			if i > 0 && (isLower(rs[i-1]) || i+1 < len(rs) && isLower(rs[i+1]) && isUpper(rs[i-1])) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}

func isLower(r rune) bool { return r >= 'a' && r <= 'z' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

// exprName returns the name an expression is known by: x for x, f for
// a.b.f, and the name of the converted or called value for string(x) or
// x.String().
func exprName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.StarExpr:
		return exprName(t.X)
	case *ast.ParenExpr:
		return exprName(t.X)
	case *ast.IndexExpr:
		if lit, ok := t.Index.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, _ := strconv.Unquote(lit.Value)
			return s
		}
	case *ast.CallExpr:
		if id, ok := t.Fun.(*ast.Ident); ok && len(t.Args) == 1 && id.Name == "string" {
			return exprName(t.Args[0])
		}
		if _, ok := t.Fun.(*ast.ArrayType); ok && len(t.Args) == 1 {
			return exprName(t.Args[0]) // []byte(x)
		}
	}
	return ""
}

// stringLit returns the value of a string literal.
func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// outOfTime reports whether less than a fifth of the checker's time budget
// is left, so that a checker can stop early and keep what it found: the
// driver discards every finding of a checker that overruns.
func outOfTime(ctx context.Context, start time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	if !ok {
		return false
	}
	return time.Until(dl) < dl.Sub(start)/5
}
