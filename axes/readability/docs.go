package readability

import (
	"context"
	"go/ast"
	"go/token"
	"path"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// MissingDoc reports exported identifiers added without a doc comment.
var MissingDoc = &axes.Checker{
	Name: "readability/missing-doc",
	Doc: "Exported identifier has no doc comment. " +
		"Exported functions, methods of exported types, types, constants and variables added to a library " +
		"package need a doc comment starting with their name (a comment on a grouped declaration covers " +
		"the group), and a new package needs a package comment; without them users must read the code " +
		"to learn units, errors and invariants.",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runMissingDoc,
}

// conventionalMethods implement well-known interfaces; their meaning is
// given by the interface, so they need no comment of their own.
var conventionalMethods = map[string]bool{
	"Error": true, "String": true, "GoString": true, "Format": true, "Unwrap": true, "Is": true, "As": true,
	"Len": true, "Less": true, "Swap": true, "Push": true, "Pop": true, "ServeHTTP": true,
	"MarshalJSON": true, "UnmarshalJSON": true, "MarshalText": true, "UnmarshalText": true,
	"MarshalYAML": true, "UnmarshalYAML": true, "MarshalBinary": true, "UnmarshalBinary": true,
	"Scan": true, "Value": true, "Read": true, "Write": true, "Close": true, "ReadFrom": true, "WriteTo": true,
	"Seek": true, "ReadAt": true, "WriteAt": true, "LogValue": true,
}

func runMissingDoc(ctx context.Context, pass *axes.Pass) error {
	pkgDocChecked := map[string]bool{}
	for _, g := range pass.ChangedGoFiles(false) {
		if !isLibraryFile(g) {
			continue
		}
		exportedTypes := map[string]bool{}
		for _, pf := range pass.PackageFiles(path.Dir(g.Path)) {
			for _, d := range pf.AST.Decls {
				if gd, ok := d.(*ast.GenDecl); ok && gd.Tok == token.TYPE {
					for _, s := range gd.Specs {
						if ts := s.(*ast.TypeSpec); isExported(ts.Name.Name) {
							exportedTypes[ts.Name.Name] = true
						}
					}
				}
			}
		}
		report := func(id *ast.Ident, kind string) {
			pass.Report(axes.Finding{Path: g.Path, Line: g.Line(id.Pos()),
				Message: "Exported " + kind + " " + id.Name + " has no doc comment; add one starting with \"" + id.Name +
					" \" that says what it is for (units, errors, invariants) so callers need not read the code."})
		}
		for _, d := range g.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Doc != nil || !isExported(d.Name.Name) {
					continue
				}
				if d.Recv != nil {
					rt := axes.RecvTypeName(d)
					if !exportedTypes[rt] || conventionalMethods[d.Name.Name] {
						continue
					}
					report(d.Name, "method")
					continue
				}
				report(d.Name, "function")
			case *ast.GenDecl:
				if d.Doc != nil || d.Tok == token.IMPORT {
					continue
				}
				kind := map[token.Token]string{token.CONST: "constant", token.VAR: "variable", token.TYPE: "type"}[d.Tok]
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if isExported(s.Name.Name) && s.Doc == nil && s.Comment == nil {
							report(s.Name, kind)
						}
					case *ast.ValueSpec:
						if s.Doc != nil || s.Comment != nil {
							continue
						}
						for _, id := range s.Names {
							if isExported(id.Name) {
								report(id, kind)
								break
							}
						}
					}
				}
			}
		}
		dir := path.Dir(g.Path)
		if !pkgDocChecked[dir] {
			pkgDocChecked[dir] = true
			checkPackageDoc(pass, g, dir)
		}
	}
	return nil
}

// checkPackageDoc reports a package without a package comment when the PR
// adds the package clause of one of its files (a new package).
func checkPackageDoc(pass *axes.Pass, g *axes.GoFile, dir string) {
	var first *axes.GoFile
	for _, pf := range pass.PackageFiles(dir) {
		if pf.IsTest {
			continue
		}
		if pf.AST.Doc != nil {
			return
		}
		if first == nil {
			first = pf
		}
	}
	if first == nil {
		return
	}
	// Only when every non-test file of the package is new.
	for _, pf := range pass.PackageFiles(dir) {
		if !pf.IsTest && !pass.IsAdded(pf.Path, pf.Line(pf.AST.Package)) {
			return
		}
	}
	pass.Report(axes.Finding{Path: g.Path, Line: g.Line(g.AST.Package),
		Message: "The new package " + g.AST.Name.Name + " has no package comment; add \"// Package " +
			g.AST.Name.Name + " ...\" saying what it owns, so readers and godoc know its purpose."})
}

// Stutter reports exported names that repeat the package name.
var Stutter = &axes.Checker{
	Name: "readability/stutter",
	Doc: "Exported name repeats the package name. " +
		"Callers write the package name before every exported identifier, so user.UserService reads as " +
		"a stutter; drop the prefix (user.Service).",
	Axis:     axes.Readability,
	Severity: axes.SeverityInfo,
	Run:      runStutter,
}

func runStutter(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if !isLibraryFile(g) {
			continue
		}
		pkg := strings.ToLower(g.AST.Name.Name)
		check := func(id *ast.Ident) {
			name := id.Name
			if !isExported(name) || len(name) <= len(pkg) || strings.ToLower(name[:len(pkg)]) != pkg {
				return
			}
			rest := name[len(pkg):]
			if rest[0] < 'A' || rest[0] > 'Z' {
				return
			}
			pass.Report(axes.Finding{Path: g.Path, Line: g.Line(id.Pos()),
				Message: "Callers will write " + g.AST.Name.Name + "." + name + ", which repeats the package name; " +
					"consider naming it " + rest + "."})
		}
		for _, d := range g.AST.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					check(d.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						check(s.Name)
					case *ast.ValueSpec:
						for _, id := range s.Names {
							check(id)
						}
					}
				}
			}
		}
	}
	return nil
}
