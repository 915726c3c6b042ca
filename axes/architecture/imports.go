package architecture

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"path"
	"strconv"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// ImportDirection reports imports that point from a lower layer to a higher
// one.
var ImportDirection = &axes.Checker{
	Name: "architecture/import-direction",
	Doc: `Lower layers must not import higher ones. A package named like a storage or domain layer (store, storage, repository, db, model, domain, entity) that imports a transport layer (http, httpapi, api, handler, server, web, transport, grpc, cmd, ui, controller) couples persistence to presentation and invites import cycles, and so does a storage or domain function that takes an *http.Request or http.ResponseWriter (or a web framework's context); a library package must never import a command under cmd/. Repository layer rules (settings "layers") are enforced too.

Only import lines the pull request adds are reported.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityWarning,
	Run:      runImportDirection,
}

type layer int

const (
	layerNone layer = iota
	layerLower
	layerService
	layerHigher
)

// dataNames name the storage and domain layer, the lowest.
var dataNames = map[string]bool{
	"store": true, "stores": true, "storage": true, "repository": true, "repositories": true, "repo": true, "repos": true,
	"db": true, "database": true, "dao": true, "persistence": true,
	"model": true, "models": true, "domain": true, "entity": true, "entities": true,
}

// serviceNames name the service layer, between data and transport.
var serviceNames = map[string]bool{
	"service": true, "services": true, "usecase": true, "usecases": true, "business": true,
}

// pureNames are lower layers that should hold only types and rules.
var pureNames = map[string]bool{
	"model": true, "models": true, "domain": true, "entity": true, "entities": true,
}

// transportNames name the transport (presentation) layer, the highest.
var transportNames = map[string]bool{
	"http": true, "httpapi": true, "api": true, "handler": true, "handlers": true,
	"server": true, "web": true, "transport": true, "cmd": true, "ui": true,
	"controller": true, "controllers": true, "rest": true, "router": true, "routers": true,
	"routes": true, "httpserver": true, "webapi": true, "grpcapi": true, "graphql": true,
	"grpc": true, "grpcserver": true,
}

// endpointNames are transport names that always mean request handlers, as
// opposed to shared web utilities.
var endpointNames = map[string]bool{
	"httpapi": true, "api": true, "handler": true, "handlers": true, "controller": true, "controllers": true,
	"rest": true, "router": true, "routers": true, "routes": true, "cmd": true, "webapi": true, "grpcapi": true,
}

// webFrameworks are import path prefixes of HTTP frameworks.
var webFrameworks = []string{
	"net/http", "github.com/gin-gonic/gin", "github.com/labstack/echo",
	"github.com/gofiber/fiber", "github.com/go-chi/chi", "github.com/gorilla/mux",
}

// classify returns the layer of a module-relative package path and the
// element that names it. Any transport element makes the whole subtree
// transport (routers/api/v1/repo is transport, not storage); otherwise the
// deepest element naming a layer decides.
func classify(rel string) (layer, string) {
	elems := strings.Split(strings.ToLower(rel), "/")
	for _, e := range elems {
		if transportNames[e] {
			return layerHigher, e
		}
	}
	for i := len(elems) - 1; i >= 0; i-- {
		switch e := elems[i]; {
		case dataNames[e]:
			return layerLower, e
		case serviceNames[e]:
			return layerService, e
		}
	}
	return layerNone, ""
}

// moduleOf finds the go.mod governing dir in the head tree and returns the
// module path and the module root directory ("." for the repository root).
func moduleOf(pass *axes.Pass, dir string) (string, string, bool) {
	for d := dir; ; d = path.Dir(d) {
		p := "go.mod"
		if d != "." && d != "" {
			p = d + "/go.mod"
		}
		if data := pass.ReadHeadFile(p); data != nil {
			if mod := modulePath(data); mod != "" {
				if d == "" {
					d = "."
				}
				return mod, d, true
			}
		}
		if d == "." || d == "/" || d == "" {
			return "", "", false
		}
	}
}

// modulePath returns the module path declared in a go.mod file.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// relDir returns dir relative to the module root.
func relDir(root, dir string) string {
	if root == "." {
		return dir
	}
	r := strings.TrimPrefix(dir, root)
	r = strings.TrimPrefix(r, "/")
	if r == "" {
		return "."
	}
	return r
}

// matchLayer matches a package path against a LayerRule pattern: a
// path.Match pattern, where a trailing "/..." also matches everything below.
func matchLayer(pattern, p string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
		if ok, _ := path.Match(prefix, p); ok {
			return true
		}
		elems := strings.Split(p, "/")
		for i := range elems {
			if ok, _ := path.Match(prefix, strings.Join(elems[:i+1], "/")); ok {
				return true
			}
		}
		return false
	}
	ok, _ := path.Match(pattern, p)
	return ok
}

type modInfo struct {
	mod, root string
	ok        bool
}

// underCmd reports whether a module-relative directory is cmd or below it.
func underCmd(dir string) bool { return dir == "cmd" || strings.HasPrefix(dir, "cmd/") }

// isMainPackage reports whether the package in the module-relative
// directory dir is a command (package main), or cannot be read: a library
// that merely lives under cmd/ is not one.
func isMainPackage(pass *axes.Pass, root, dir string) bool {
	files := pass.PackageFiles(path.Join(root, dir))
	for _, f := range files {
		if !f.IsTest {
			return f.AST.Name.Name == "main"
		}
	}
	return true
}

func runImportDirection(ctx context.Context, pass *axes.Pass) error {
	mods := map[string]modInfo{}
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		dir := path.Dir(g.Path)
		mi, seen := mods[dir]
		if !seen {
			mi.mod, mi.root, mi.ok = moduleOf(pass, dir)
			mods[dir] = mi
		}
		mod, root, ok := mi.mod, mi.root, mi.ok
		if !ok {
			continue
		}
		from := relDir(root, dir)
		fromLayer, fromName := classify(from)
		if fromLayer == layerLower {
			transportSignatures(pass, g, from, fromName)
		}
		for _, spec := range g.AST.Imports {
			line := g.Line(spec.Pos())
			if !pass.IsAdded(g.Path, line) {
				continue
			}
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				continue
			}
			to, internal := "", false
			if imp == mod || strings.HasPrefix(imp, mod+"/") {
				to, internal = strings.TrimPrefix(strings.TrimPrefix(imp, mod), "/"), true
				if to == "" {
					to = "."
				}
			}
			if msg, sev := layerViolation(pass.Settings.Layers, from, to, imp, internal); msg != "" {
				pass.Report(axes.Finding{Path: g.Path, Line: line, Severity: sev, Message: msg})
				continue
			}
			if internal && !g.IsMain() && underCmd(to) && !underCmd(from) && isMainPackage(pass, root, to) {
				pass.Report(axes.Finding{Path: g.Path, Line: line, Message: fmt.Sprintf(
					"Library package %s imports the command package %s; commands sit at the top and wire libraries together, so move the shared code into a library package both can import.", from, to)})
				continue
			}
			if fromLayer != layerLower && fromLayer != layerService {
				continue
			}
			if internal {
				toLayer, toName := classify(to)
				if fromLayer == layerService && !endpointNames[toName] {
					continue // services may use shared web utilities
				}
				if toLayer == layerHigher {
					pass.Report(axes.Finding{Path: g.Path, Line: line, Message: fmt.Sprintf(
						"Package %s (the %s layer) now imports %s (the %s layer), so dependencies point from storage/domain up to the transport layer; keep returning domain errors and types here and let %s map them.",
						from, fromName, to, toName, path.Base(to))})
				}
				continue
			}
			if fromLayer == layerService {
				continue
			}
			for _, w := range webFrameworks {
				if imp == w || strings.HasPrefix(imp, w+"/") {
					sev := axes.SeverityWarning
					if (imp == "net/http" || strings.HasPrefix(imp, "net/http/")) && !pureNames[fromName] {
						sev = axes.SeverityInfo // a store may legitimately call a remote HTTP API
					}
					pass.Report(axes.Finding{Path: g.Path, Line: line, Severity: sev, Message: fmt.Sprintf(
						"Package %s (the %s layer) now imports %s, tying it to the HTTP transport; return domain values and errors and let the HTTP layer translate them.",
						from, fromName, imp)})
					break
				}
			}
		}
	}
	return nil
}

// layerViolation checks the repository's configured layer rules.
func layerViolation(rules []axes.LayerRule, from, to, imp string, internal bool) (string, axes.Severity) {
	for _, r := range rules {
		if !matchLayer(r.From, from) {
			continue
		}
		for _, d := range r.Deny {
			if (internal && matchLayer(d, to)) || matchLayer(d, imp) {
				shown := imp
				if internal {
					shown = to
				}
				return fmt.Sprintf("Package %s imports %s, which the repository's layer rules forbid (%s may not import %s); invert the dependency with an interface owned by %s or move the shared code down.",
					from, shown, r.From, d, from), axes.SeverityWarning
			}
		}
	}
	return "", ""
}

// transportTypes are request/response types of web frameworks, by import
// path, that a storage or domain function should not take as parameters.
var transportTypes = map[string]map[string]bool{
	"net/http":                    {"Request": true, "ResponseWriter": true},
	"github.com/gin-gonic/gin":    {"Context": true},
	"github.com/labstack/echo/v4": {"Context": true},
	"github.com/gofiber/fiber/v2": {"Ctx": true},
}

// transportSignatures reports added functions of a storage or domain
// package that take an HTTP request or response writer: the layer then
// parses requests itself and cannot be used without the transport.
func transportSignatures(pass *axes.Pass, g *axes.GoFile, from, fromName string) {
	imports := g.Imports()
	for _, d := range g.AST.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Type.Params == nil {
			continue
		}
		line := g.Line(fd.Pos())
		if !pass.IsAdded(g.Path, line) {
			continue
		}
		for _, f := range fd.Type.Params.List {
			t := f.Type
			if st, ok := t.(*ast.StarExpr); ok {
				t = st.X
			}
			sel, ok := t.(*ast.SelectorExpr)
			if !ok {
				continue
			}
			pkg, ok := sel.X.(*ast.Ident)
			if !ok || !transportTypes[imports[pkg.Name]][sel.Sel.Name] {
				continue
			}
			pass.Report(axes.Finding{Path: g.Path, Line: line, Message: fmt.Sprintf(
				"%s in package %s (the %s layer) takes a %s.%s, so the storage/domain code parses requests itself and cannot be used without the HTTP transport; let the handler parse the request and pass plain values (ctx, ids, filters).",
				fd.Name.Name, from, fromName, pkg.Name, sel.Sel.Name)})
			break
		}
	}
}
