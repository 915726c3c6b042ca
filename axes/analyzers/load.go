package analyzers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/fiveaxis/fiveaxis/axes"
)

// goEnv is the environment of the go command: no network, no workspace, no
// cgo, no external package driver, and no toolchain switch.
func goEnv(vendor bool) []string {
	override := map[string]string{
		"GOFLAGS":          "-mod=mod -buildvcs=false",
		"GOPROXY":          "off",
		"GOSUMDB":          "off",
		"GONOSUMDB":        "",
		"GOWORK":           "off",
		"GOTOOLCHAIN":      "local",
		"CGO_ENABLED":      "0",
		"GOPACKAGESDRIVER": "off",
		"GO111MODULE":      "on",
	}
	if vendor {
		override["GOFLAGS"] = "-mod=vendor -buildvcs=false"
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := override[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range override {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	sort.Strings(env)
	return env
}

// analyze materializes, loads and analyzes the changed packages. It returns
// nil and no error when the PR changes no Go package.
func analyze(ctx context.Context, pass *axes.Pass, opts Options, rules []Rule) (*result, error) {
	ws, skipped, err := materialize(ctx, pass, opts)
	defer ws.remove()
	if err != nil {
		return nil, err
	}
	if ws == nil {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("no module: %s", strings.Join(firstN(skipped, 3), "; "))
		}
		return nil, nil
	}
	res := &result{skipped: skipped}
	var roots []*packages.Package
	t0 := time.Now()
	roots, res.skipped, err = load(ctx, ws, opts, res.skipped)
	res.loadTime = time.Since(t0)
	if err != nil {
		return nil, err
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("no package loaded: %s", strings.Join(firstN(res.skipped, 3), "; "))
	}
	guarded, orig := guard(ctx, analyzersOf(rules))
	t0 = time.Now()
	graph, err := runChecker(ctx, guarded, roots)
	res.analyzeTime = time.Since(t0)
	if err != nil {
		return nil, err
	}
	ix := newRuleIndex(rules)
	seen := map[string]bool{}
	for act := range graph.All() {
		if !act.IsRoot {
			continue
		}
		for _, d := range act.Diagnostics {
			r := ix.lookup(orig[act.Analyzer], d)
			if r == nil || suppressed(orig[act.Analyzer], d, act.Package.Syntax) {
				continue
			}
			pos := act.Package.Fset.Position(d.Pos)
			rel, ok := ws.rel(pos.Filename)
			if !ok || pos.Line <= 0 {
				continue
			}
			f := r.finding(rel, pos.Line, d.Message)
			key := f.Fingerprint() + "|" + f.Message
			if !seen[key] {
				seen[key] = true
				res.findings = append(res.findings, f)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.findings = dedupeClasses(res.findings, ix)
	res.packages = len(roots)
	res.analyzers = len(rules)
	sort.Slice(res.findings, func(i, j int) bool {
		a, b := res.findings[i], res.findings[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Rule < b.Rule
	})
	return res, nil
}

// rel maps a file name of the temporary directory back to its repository
// path.
func (ws *workspace) rel(name string) (string, bool) {
	r, err := filepath.Rel(ws.dir, name)
	if err != nil || strings.HasPrefix(r, "..") || filepath.IsAbs(r) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// load loads the changed packages of each module and returns the roots to
// analyze: packages that loaded without errors, each test variant replacing
// its plain package. Packages with errors are returned as skipped reasons.
func load(ctx context.Context, ws *workspace, opts Options, skipped []string) ([]*packages.Package, []string, error) {
	var roots []*packages.Package
	modRoots := make([]string, 0, len(ws.modules))
	for r := range ws.modules {
		modRoots = append(modRoots, r)
	}
	sort.Strings(modRoots)
	for _, mr := range modRoots {
		m := ws.modules[mr]
		patterns := make([]string, 0, len(m.dirs))
		for _, d := range m.dirs {
			rel := strings.TrimPrefix(strings.TrimPrefix(d, m.root), "/")
			if m.root == "." {
				rel = d
			}
			if rel == "." || rel == "" {
				patterns = append(patterns, ".")
			} else {
				patterns = append(patterns, "./"+rel)
			}
		}
		env := goEnv(m.vendor)
		if opts.GoCommand != "" {
			env = append(env, "PATH="+filepath.Dir(opts.GoCommand)+string(os.PathListSeparator)+os.Getenv("PATH"))
		}
		good, bad, err := loadModule(ctx, ws, filepath.Join(ws.dir, filepath.FromSlash(m.root)), env, patterns, m.tests)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			skipped = append(skipped, fmt.Sprintf("module %s: %s", m.path, oneLine(trimDir(err.Error(), ws.dir))))
			continue
		}
		roots = append(roots, good...)
		skipped = append(skipped, bad...)
	}
	trimImports(roots)
	return roots, skipped, nil
}

// pickRoots drops the synthesized test mains, replaces a package by its test
// variant when there is one, and sets aside packages go list reports errors
// for.
func pickRoots(pkgs []*packages.Package, ws *workspace) (good []*packages.Package, bad []string) {
	hasTestVariant := map[string]bool{}
	for _, p := range pkgs {
		if p.ID != p.PkgPath && strings.HasSuffix(p.ID, ".test]") {
			hasTestVariant[p.PkgPath] = true
		}
	}
	for _, p := range pkgs {
		if strings.HasSuffix(p.ID, ".test") && p.Name == "main" {
			continue // the generated test main
		}
		if p.ID == p.PkgPath && hasTestVariant[p.PkgPath] {
			continue
		}
		if len(p.Errors) > 0 {
			bad = append(bad, p.PkgPath+": "+oneLine(trimDir(p.Errors[0].Error(), ws.dir)))
			continue
		}
		good = append(good, p)
	}
	return good, bad
}

func trimDir(s, dir string) string {
	return strings.ReplaceAll(s, dir+string(filepath.Separator), "")
}

// trimImports keeps in each root's Imports only the other roots. The checker
// follows Imports to run fact-producing analyzers on dependencies; trimming
// them keeps analysis to the changed packages, whose dependencies are loaded
// from export data without syntax. Facts then flow only between changed
// packages (a printf wrapper in an unchanged package is not recognised).
func trimImports(roots []*packages.Package) {
	isRoot := make(map[*packages.Package]bool, len(roots))
	for _, p := range roots {
		isRoot[p] = true
	}
	for _, p := range roots {
		kept := make(map[string]*packages.Package, len(p.Imports))
		for ip, dep := range p.Imports {
			if isRoot[dep] {
				kept[ip] = dep
			}
		}
		p.Imports = kept
	}
}

// runChecker runs the analyzers on the roots, giving up when ctx ends (the
// guarded analyzers then return at once, so the abandoned run ends soon).
func runChecker(ctx context.Context, as []*analysis.Analyzer, roots []*packages.Package) (*checker.Graph, error) {
	type out struct {
		g   *checker.Graph
		err error
	}
	done := make(chan out, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- out{err: fmt.Errorf("analysis panicked: %v", r)}
			}
		}()
		g, err := checker.Analyze(as, roots, &checker.Options{})
		done <- out{g, err}
	}()
	select {
	case o := <-done:
		return o.g, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// guard returns copies of the analyzers that nothing else requires, whose Run
// returns at once when ctx is done, and a map from each returned analyzer to
// its original. Required analyzers stay as they are: their identity is the
// key of Pass.ResultOf.
func guard(ctx context.Context, as []*analysis.Analyzer) ([]*analysis.Analyzer, map[*analysis.Analyzer]*analysis.Analyzer) {
	required := map[*analysis.Analyzer]bool{}
	var visit func(a *analysis.Analyzer)
	visit = func(a *analysis.Analyzer) {
		for _, r := range a.Requires {
			if !required[r] {
				required[r] = true
				visit(r)
			}
		}
	}
	for _, a := range as {
		visit(a)
	}
	out := make([]*analysis.Analyzer, len(as))
	orig := make(map[*analysis.Analyzer]*analysis.Analyzer, len(as))
	for i, a := range as {
		orig[a] = a
		if required[a] {
			out[i] = a
			continue
		}
		g := *a
		run := a.Run
		g.Run = func(p *analysis.Pass) (any, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			return run(p)
		}
		out[i] = &g
		orig[&g] = a
	}
	return out, orig
}
