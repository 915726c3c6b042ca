package performance

import (
	"go/ast"
)

// walkStack walks n depth-first, calling fn with each node and its
// ancestors (outermost first, not including the node itself). Returning
// false skips the node's children.
func walkStack(n ast.Node, fn func(n ast.Node, stack []ast.Node) bool) {
	var stack []ast.Node
	ast.Inspect(n, func(x ast.Node) bool {
		if x == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if !fn(x, stack) {
			return false
		}
		stack = append(stack, x)
		return true
	})
}

// enclosingLoop returns the innermost loop in stack that is not separated
// from the end of the stack by a function literal, or nil.
func enclosingLoop(stack []ast.Node) ast.Stmt {
	for i := len(stack) - 1; i >= 0; i-- {
		switch s := stack[i].(type) {
		case *ast.ForStmt:
			return s
		case *ast.RangeStmt:
			return s
		case *ast.FuncLit:
			return nil
		}
	}
	return nil
}

// loopBody returns the body of a for or range statement.
func loopBody(s ast.Stmt) *ast.BlockStmt {
	switch l := s.(type) {
	case *ast.ForStmt:
		return l.Body
	case *ast.RangeStmt:
		return l.Body
	}
	return nil
}

// inBody reports whether n lies inside the loop's body (not its header).
func inBody(loop ast.Stmt, n ast.Node) bool {
	b := loopBody(loop)
	return b != nil && n.Pos() >= b.Pos() && n.End() <= b.End()
}

// identName returns the name of an identifier expression, or "".
func identName(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
