package analyzers

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"
)

// metaMode asks go list for the package graph only: no compilation.
const metaMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedImports | packages.NeedDeps | packages.NeedModule

// loadModule loads the packages matching patterns in one module directory.
//
// go/packages' own LoadSyntax mode runs `go list -export`, which compiles
// every package of the PR in a fresh temporary directory, beyond the reach
// of the build cache: minutes for a large PR. Instead, loadModule asks go
// list for the graph only, reads export data for the packages outside the
// PR's modules (standard library and module-cache dependencies, which the
// build cache keeps), and type-checks the PR's packages from source here:
// the ones to analyze in full, the others they import without function
// bodies. It returns the analyzable roots (see pickRoots) and the reasons
// other packages were skipped.
func loadModule(ctx context.Context, ws *workspace, dir string, env []string, patterns []string, tests bool) ([]*packages.Package, []string, error) {
	fset := token.NewFileSet()
	cfg := &packages.Config{Context: ctx, Mode: metaMode, Dir: dir, Env: env, Tests: tests, Fset: fset}
	initial, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, nil, err
	}
	roots, skipped := pickRoots(initial, ws)
	if len(roots) == 0 {
		return nil, skipped, nil
	}
	// The local packages the roots need, and the external packages they
	// import directly.
	local := map[*packages.Package]bool{}
	external := map[string]bool{}
	var visit func(p *packages.Package)
	visit = func(p *packages.Package) {
		if local[p] {
			return
		}
		local[p] = true
		for _, dep := range p.Imports {
			switch {
			case dep.PkgPath == "unsafe":
			case ws.isLocal(dep):
				visit(dep)
			default:
				external[dep.PkgPath] = true
			}
		}
	}
	for _, r := range roots {
		visit(r)
	}
	for p := range local {
		if len(p.Errors) > 0 {
			return nil, append(skipped, fmt.Sprintf("%s: %s", p.PkgPath, oneLine(trimDir(p.Errors[0].Error(), ws.dir)))), nil
		}
	}
	imported, err := readExportData(ctx, cfg, fset, external)
	if err != nil {
		return nil, skipped, err
	}
	isRoot := map[*packages.Package]bool{}
	for _, r := range roots {
		isRoot[r] = true
	}
	if err := checkLocal(ctx, fset, local, isRoot, imported); err != nil {
		return nil, skipped, err
	}
	var good []*packages.Package
	for _, r := range roots {
		if len(r.TypeErrors) > 0 {
			skipped = append(skipped, fmt.Sprintf("%s: %s", r.PkgPath, oneLine(trimDir(r.TypeErrors[0].Error(), ws.dir))))
			continue
		}
		good = append(good, r)
	}
	return good, skipped, nil
}

// isLocal reports whether p's files are in the workspace (the PR's modules,
// including their vendor directories).
func (ws *workspace) isLocal(p *packages.Package) bool {
	for _, lists := range [][]string{p.CompiledGoFiles, p.GoFiles} {
		for _, f := range lists {
			_, ok := ws.rel(f)
			return ok
		}
	}
	if p.Module != nil && p.Module.Dir != "" {
		_, ok := ws.rel(p.Module.Dir)
		return ok
	}
	return false
}

// readExportData reads the export data of the packages at paths (compiled by
// the go command, or found in the build cache) into one shared map.
func readExportData(ctx context.Context, base *packages.Config, fset *token.FileSet, paths map[string]bool) (map[string]*types.Package, error) {
	imported := map[string]*types.Package{"unsafe": types.Unsafe}
	if len(paths) == 0 {
		return imported, nil
	}
	list := make([]string, 0, len(paths))
	for p := range paths {
		list = append(list, p)
	}
	sort.Strings(list)
	cfg := &packages.Config{Context: ctx, Mode: packages.NeedName | packages.NeedExportFile, Dir: base.Dir, Env: base.Env}
	pkgs, err := packages.Load(cfg, list...)
	if err != nil {
		return nil, err
	}
	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.ExportFile == "" {
			msg := "no export data"
			if len(p.Errors) > 0 {
				msg = p.Errors[0].Msg
			}
			return nil, fmt.Errorf("dependency %s: %s", p.PkgPath, oneLine(msg))
		}
		if err := readOne(fset, imported, p.PkgPath, p.ExportFile); err != nil {
			return nil, err
		}
	}
	return imported, nil
}

func readOne(fset *token.FileSet, imported map[string]*types.Package, path, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := gcexportdata.NewReader(f)
	if err != nil {
		return fmt.Errorf("export data of %s: %w", path, err)
	}
	if _, err := gcexportdata.Read(r, fset, imported, path); err != nil {
		return fmt.Errorf("export data of %s: %w", path, err)
	}
	return nil
}

// checkLocal parses and type-checks the local packages in dependency order,
// GOMAXPROCS at a time: roots in full with syntax and type information,
// the others without function bodies. Type errors are recorded in each
// package's TypeErrors.
func checkLocal(ctx context.Context, fset *token.FileSet, local map[*packages.Package]bool, isRoot map[*packages.Package]bool, imported map[string]*types.Package) error {
	sizes := types.SizesFor("gc", runtime.GOARCH)
	done := make(map[*packages.Package]chan struct{}, len(local))
	for p := range local {
		done[p] = make(chan struct{})
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for p := range local {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[p])
			for _, dep := range p.Imports {
				if ch, ok := done[dep]; ok {
					<-ch
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			checkOne(fset, p, isRoot[p], sizes, imported, local)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// checkOne type-checks one package. Imported local packages have been
// checked already.
func checkOne(fset *token.FileSet, p *packages.Package, full bool, sizes types.Sizes, imported map[string]*types.Package, local map[*packages.Package]bool) {
	// Roots are parsed as go/packages does, with object resolution: some
	// analyzers (gosec's) still read ast.Ident.Obj.
	mode := parser.SkipObjectResolution
	if full {
		mode = parser.ParseComments | parser.AllErrors
	}
	files := make([]*ast.File, 0, len(p.CompiledGoFiles))
	for _, name := range p.CompiledGoFiles {
		f, err := parser.ParseFile(fset, name, nil, mode)
		if err != nil {
			p.TypeErrors = append(p.TypeErrors, types.Error{Fset: fset, Msg: err.Error()})
			if f == nil {
				continue
			}
		}
		files = append(files, f)
	}
	conf := &types.Config{
		IgnoreFuncBodies: !full,
		Sizes:            sizes,
		Error: func(err error) {
			if te, ok := err.(types.Error); ok {
				p.TypeErrors = append(p.TypeErrors, te)
			}
		},
		Importer: importerFunc(func(path string) (*types.Package, error) {
			dep := p.Imports[path]
			if dep == nil {
				return nil, fmt.Errorf("%s: import %q not in the package graph", p.PkgPath, path)
			}
			if local[dep] {
				if dep.Types == nil {
					return nil, fmt.Errorf("import %q did not type-check", path)
				}
				return dep.Types, nil
			}
			if t := imported[dep.PkgPath]; t != nil {
				return t, nil
			}
			return nil, fmt.Errorf("no export data for %q", dep.PkgPath)
		}),
	}
	if p.Module != nil && p.Module.GoVersion != "" {
		conf.GoVersion = "go" + strings.TrimPrefix(p.Module.GoVersion, "go")
	}
	var info *types.Info
	if full {
		info = &types.Info{
			Types:        map[ast.Expr]types.TypeAndValue{},
			Defs:         map[*ast.Ident]types.Object{},
			Uses:         map[*ast.Ident]types.Object{},
			Implicits:    map[ast.Node]types.Object{},
			Instances:    map[*ast.Ident]types.Instance{},
			Scopes:       map[ast.Node]*types.Scope{},
			Selections:   map[*ast.SelectorExpr]*types.Selection{},
			FileVersions: map[*ast.File]string{},
		}
	}
	tpkg, _ := conf.Check(p.PkgPath, fset, files, info)
	p.Types = tpkg
	p.Fset = fset
	p.TypesSizes = sizes
	if full {
		p.Syntax = files
		p.TypesInfo = info
	}
	if !full {
		// Errors in bodies-ignored dependencies (unused imports and the
		// like) do not matter; only the roots' own errors skip them.
		p.TypeErrors = nil
	}
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
