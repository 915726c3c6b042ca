// Package readability holds the rules of the readability axis: code that
// works but is harder to read, review or maintain than it needs to be, such
// as long or deeply nested functions, undocumented exported API, debug
// prints and commented-out code left in library packages, TODOs nobody
// owns, stuttering names and query-named functions that change state.
//
// The rules read the Go AST of the head revision only and report on the
// lines a pull request adds.
package readability

import (
	"go/ast"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// Checkers returns the readability rules.
func Checkers() []*axes.Checker {
	return []*axes.Checker{
		LongFunction,
		DeepNesting,
		MissingDoc,
		CommentedOutCode,
		DebugPrint,
		DebugStatement,
		TodoWithoutOwner,
		Stutter,
		MisleadingName,
		TooManyParams,
		DuplicateCode,
	}
}

// isLibraryFile reports whether g is non-test code of a non-main package
// outside testdata, where API and output conventions apply.
func isLibraryFile(g *axes.GoFile) bool {
	if g.IsTest || g.AST.Name.Name == "main" {
		return false
	}
	return !strings.Contains("/"+g.Path, "/testdata/")
}

// addedCount returns how many lines of [from, to] the PR added in path.
func addedCount(pass *axes.Pass, path string, from, to int) int {
	n := 0
	for l := from; l <= to; l++ {
		if pass.IsAdded(path, l) {
			n++
		}
	}
	return n
}

// isExported reports whether name starts with an upper-case letter.
func isExported(name string) bool { return ast.IsExported(name) }
