package correctness

import (
	"go/ast"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// deferCloseFix is a mechanical fix that adds "defer <closer>" after the
// error check of the assignment that opened a resource.
type deferCloseFix struct {
	endLine    int    // the last line the suggestion replaces
	suggestion string // the replaced lines, then the defer
}

// deferCloseAfterCheck builds the fix for
//
//	x, err := open(...)
//	if err != nil {
//		return ...
//	}
//
// by repeating those lines and adding "defer <closer>" below them. It gives
// up (ok false) unless the assignment stands alone on its first line, the
// next statement is exactly that error check with a terminating body and a
// closing brace on its own line, and the assignment is not inside a loop of
// its function (a defer there would pile up until the function returns).
func deferCloseAfterCheck(g *axes.GoFile, fd *ast.FuncDecl, as *ast.AssignStmt, closer string) (deferCloseFix, bool) {
	if len(as.Lhs) != 2 {
		return deferCloseFix{}, false
	}
	errID, ok := as.Lhs[1].(*ast.Ident)
	if !ok || errID.Name == "_" {
		return deferCloseFix{}, false
	}
	list, i, inLoop := enclosingList(fd.Body, as)
	if list == nil || inLoop || i+1 >= len(list) {
		return deferCloseFix{}, false
	}
	check, ok := list[i+1].(*ast.IfStmt)
	if !ok || check.Init != nil || check.Else != nil || errNotNil(check.Cond) != errID.Name || !terminates(check.Body) {
		return deferCloseFix{}, false
	}
	first, last := g.Line(as.Pos()), g.Line(check.End()-1)
	head := g.LineText(first)
	if strings.TrimSpace(head) == "" || g.Fset.Position(as.Pos()).Column != len(axes.Indent(head))+1 ||
		strings.TrimSpace(g.LineText(last)) != "}" {
		return deferCloseFix{}, false
	}
	var b strings.Builder
	for n := first; n <= last; n++ {
		b.WriteString(g.LineText(n) + "\n")
	}
	b.WriteString(axes.Indent(head) + "defer " + closer)
	return deferCloseFix{endLine: last, suggestion: b.String()}, true
}

// enclosingList finds the statement list that holds target directly and
// its index there, and whether a for or range loop of the same function
// (not of a nested function literal) encloses it.
func enclosingList(body *ast.BlockStmt, target ast.Stmt) (list []ast.Stmt, index int, inLoop bool) {
	var walk func(n ast.Node, loop bool) bool
	walk = func(n ast.Node, loop bool) bool {
		found := false
		ast.Inspect(n, func(c ast.Node) bool {
			if found || c == nil {
				return false
			}
			if c != n {
				switch c := c.(type) {
				case *ast.FuncLit:
					found = walk(c.Body, false)
					return false
				case *ast.ForStmt:
					found = walk(c.Body, true)
					return false
				case *ast.RangeStmt:
					found = walk(c.Body, true)
					return false
				}
			}
			var stmts []ast.Stmt
			switch c := c.(type) {
			case *ast.BlockStmt:
				stmts = c.List
			case *ast.CaseClause:
				stmts = c.Body
			case *ast.CommClause:
				stmts = c.Body
			}
			for j, s := range stmts {
				if s == target {
					list, index, inLoop, found = stmts, j, loop, true
					return false
				}
			}
			return true
		})
		return found
	}
	walk(body, false)
	return list, index, inLoop
}

// terminates reports whether a block ends in a return, panic, or a branch
// statement, so that the code after it runs only without an error.
func terminates(b *ast.BlockStmt) bool {
	if len(b.List) == 0 {
		return false
	}
	switch s := b.List[len(b.List)-1].(type) {
	case *ast.ReturnStmt, *ast.BranchStmt:
		return true
	case *ast.ExprStmt:
		call, ok := s.X.(*ast.CallExpr)
		if !ok {
			return false
		}
		if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "panic" {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		return ok && (sel.Sel.Name == "Fatal" || sel.Sel.Name == "Fatalf" || sel.Sel.Name == "FailNow")
	}
	return false
}

// replaceIdent returns the line of a one-line statement st with the
// identifier id replaced by name, or "" when st spans several lines.
func replaceIdent(g *axes.GoFile, st ast.Stmt, id *ast.Ident, name string) string {
	line := g.Line(st.Pos())
	if line != g.Line(st.End()-1) || g.Line(id.Pos()) != line {
		return ""
	}
	text := g.LineText(line)
	col := g.Fset.Position(id.Pos()).Column - 1
	if col < 0 || col+len(id.Name) > len(text) || text[col:col+len(id.Name)] != id.Name {
		return ""
	}
	return text[:col] + name + text[col+len(id.Name):]
}

// addBeforeGo moves "wg.Add(<literal>)", the first statement of a go
// statement's function literal and on the line right after "go func",
// above the go statement. It returns the go statement's line and the
// replacement of that line and the next, or ok false.
func addBeforeGo(g *axes.GoFile, gs *ast.GoStmt, lit *ast.FuncLit, add *ast.CallExpr) (line int, suggestion string, ok bool) {
	if len(lit.Body.List) == 0 || len(add.Args) != 1 {
		return 0, "", false
	}
	if es, isExpr := lit.Body.List[0].(*ast.ExprStmt); !isExpr || es.X != add {
		return 0, "", false
	}
	if _, isLit := add.Args[0].(*ast.BasicLit); !isLit {
		return 0, "", false // the count may depend on the goroutine's arguments
	}
	goLine, addLine := g.Line(gs.Pos()), g.Line(add.Pos())
	goText, addText := g.LineText(goLine), g.LineText(addLine)
	if addLine != goLine+1 || g.Line(add.End()-1) != addLine ||
		g.Fset.Position(gs.Pos()).Column != len(axes.Indent(goText))+1 ||
		strings.TrimSpace(addText) != strings.TrimSpace(string(g.Src[g.Fset.Position(add.Pos()).Offset:g.Fset.Position(add.End()).Offset])) {
		return 0, "", false
	}
	return goLine, axes.Indent(goText) + strings.TrimSpace(addText) + "\n" + goText, true
}
