package architecture

import (
	"context"
	"fmt"
	"go/ast"

	"github.com/fiveaxis/fiveaxis/axes"
)

// InitIO reports init functions that do I/O.
var InitIO = &axes.Checker{
	Name:     "architecture/init-io",
	Doc:      `init functions should not do I/O. Opening files, databases or network connections in init runs on import, before main can configure anything, cannot return an error, slows every test of the package and makes importing it fail on machines without the resource; do it in an explicit constructor or in main.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityWarning,
	Run:      runInitIO,
}

// ioFuncs lists I/O functions by import path.
var ioFuncs = map[string]map[string]bool{
	"os": {"Open": true, "OpenFile": true, "ReadFile": true, "WriteFile": true, "Create": true,
		"ReadDir": true, "Mkdir": true, "MkdirAll": true, "Remove": true, "RemoveAll": true, "OpenRoot": true},
	"io/ioutil":                       {"ReadFile": true, "WriteFile": true, "ReadDir": true, "ReadAll": true},
	"net/http":                        {"Get": true, "Post": true, "Head": true, "PostForm": true, "ListenAndServe": true},
	"database/sql":                    {"Open": true},
	"net":                             {"Dial": true, "DialTimeout": true, "Listen": true, "ListenPacket": true, "LookupHost": true, "LookupIP": true},
	"os/exec":                         {"Command": true, "CommandContext": true},
	"github.com/jackc/pgx/v5":         {"Connect": true},
	"github.com/jackc/pgx/v5/pgxpool": {"New": true, "Connect": true},
	"gorm.io/gorm":                    {"Open": true},
	"github.com/jmoiron/sqlx":         {"Open": true, "Connect": true, "MustConnect": true, "MustOpen": true},
}

func runInitIO(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, d := range g.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Recv != nil || fd.Name.Name != "init" || fd.Body == nil {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				p, name := g.PkgFunc(call)
				if !ioFuncs[p][name] {
					return true
				}
				from, to := g.Span(call)
				if !pass.AddedIn(g.Path, from, to) {
					return true
				}
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
					"init calls %s.%s, doing I/O at import time where errors cannot be returned and tests cannot opt out; move it into a constructor or main and pass the result in.",
					axes.DefaultImportName(p), name)})
				return true
			})
		}
	}
	return nil
}
