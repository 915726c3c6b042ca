package analyzers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/fiveaxis/fiveaxis/axes"
)

// errTooLarge is returned when the files needed to load the changed packages
// exceed Options.MaxFiles or Options.MaxBytes.
var errTooLarge = errors.New("tree too large")

// module is one Go module of the head tree that the load needs.
type module struct {
	root   string // repo-relative directory of go.mod; "." for the top
	path   string // module path
	vendor bool   // has vendor/modules.txt
	dirs   []string
	tests  bool // a changed _test.go file is in it
}

// workspace is the part of the head tree written to disk for loading.
type workspace struct {
	dir     string // temporary directory, the repository root
	opts    Options
	modules map[string]*module  // by root, for modules with changed packages
	known   map[string]*module  // by root, every module materialized
	written map[string]struct{} // repo-relative paths written
	bytes   int64
}

// layout indexes the head tree's file list by directory.
type layout struct {
	files map[string]bool
	byDir map[string][]string // dir → file paths directly in it
}

func newLayout(files []string) *layout {
	l := &layout{files: make(map[string]bool, len(files)), byDir: map[string][]string{}}
	for _, f := range files {
		l.files[f] = true
		l.byDir[path.Dir(f)] = append(l.byDir[path.Dir(f)], f)
	}
	return l
}

// moduleRoot returns the directory of the go.mod governing dir, or false.
func (l *layout) moduleRoot(dir string) (string, bool) {
	for {
		if l.files[path.Join(dir, "go.mod")] {
			return dir, true
		}
		if dir == "." || dir == "/" || dir == "" {
			return "", false
		}
		dir = path.Dir(dir)
	}
}

// skipDir reports whether a Go tool ignores a directory on its way: testdata,
// and names starting with "_" or ".".
func skipDir(dir string) bool {
	for _, el := range strings.Split(dir, "/") {
		if el == "testdata" || strings.HasPrefix(el, "_") || strings.HasPrefix(el, ".") && el != "." {
			return true
		}
	}
	return false
}

// materialize writes to a new temporary directory the Go files, go.mod,
// go.sum and embedded files needed to load the packages of the PR's changed
// .go files: the packages themselves and, transitively, the packages of the
// same (or locally replaced) modules they import. It returns nil and no error
// when the PR changes no loadable Go package.
func materialize(ctx context.Context, pass *axes.Pass, opts Options) (*workspace, []string, error) {
	all, err := pass.Head.Files()
	if err != nil {
		return nil, nil, fmt.Errorf("list head files: %w", err)
	}
	l := newLayout(all)
	dir, err := os.MkdirTemp("", "fiveaxis-analyzers-*")
	if err != nil {
		return nil, nil, err
	}
	ws := &workspace{dir: dir, opts: opts, modules: map[string]*module{}, known: map[string]*module{}, written: map[string]struct{}{}}
	var skipped []string
	queue := []string{}
	inQueue := map[string]bool{}
	push := func(dir string) {
		if !inQueue[dir] {
			inQueue[dir] = true
			queue = append(queue, dir)
		}
	}
	for _, f := range pass.ChangedFiles() {
		p := f.NewPath
		if f.Binary || !strings.HasSuffix(p, ".go") {
			continue
		}
		dir := path.Dir(p)
		if skipDir(dir) || strings.HasPrefix(dir, "vendor/") || strings.Contains(dir, "/vendor/") {
			continue
		}
		root, ok := l.moduleRoot(dir)
		if !ok {
			skipped = append(skipped, p+" (no go.mod)")
			continue
		}
		m, err := ws.addModule(pass, l, root, "")
		if err != nil {
			return ws, nil, err
		}
		ws.modules[root] = m
		if !contains(m.dirs, dir) {
			m.dirs = append(m.dirs, dir)
		}
		if strings.HasSuffix(p, "_test.go") {
			m.tests = true
		}
		push(dir)
	}
	if len(ws.modules) == 0 {
		ws.remove()
		return nil, skipped, nil
	}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return ws, skipped, err
		}
		d := queue[0]
		queue = queue[1:]
		imports, err := ws.writeDir(pass, l, d)
		if err != nil {
			return ws, skipped, err
		}
		for _, ip := range imports {
			if dep, ok := ws.resolve(pass, l, d, ip); ok {
				push(dep)
			}
		}
	}
	for _, m := range ws.modules {
		sort.Strings(m.dirs)
	}
	return ws, skipped, nil
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

// addModule records the module at root (writing its go.mod, go.sum and
// vendor/modules.txt) and, recursively, the modules its go.mod replaces with
// directories inside the repository.
func (ws *workspace) addModule(pass *axes.Pass, l *layout, root, wantPath string) (*module, error) {
	if m, ok := ws.known[root]; ok {
		return m, nil
	}
	data, err := pass.Head.ReadFile(path.Join(root, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("read %s/go.mod: %w", root, err)
	}
	mf, err := modfile.ParseLax(path.Join(root, "go.mod"), data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s/go.mod: %w", root, err)
	}
	m := &module{root: root, path: wantPath, vendor: l.files[path.Join(root, "vendor/modules.txt")]}
	if mf.Module != nil {
		m.path = mf.Module.Mod.Path
	}
	ws.known[root] = m
	for _, name := range []string{"go.mod", "go.sum", "vendor/modules.txt"} {
		if p := path.Join(root, name); l.files[p] {
			if err := ws.copyFile(pass, p); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range mf.Replace {
		if r.New.Version != "" || !(strings.HasPrefix(r.New.Path, "./") || strings.HasPrefix(r.New.Path, "../")) {
			continue
		}
		target := path.Join(root, r.New.Path)
		if strings.HasPrefix(target, "../") || target == ".." || !l.files[path.Join(target, "go.mod")] {
			continue // outside the repository: the load will say so
		}
		if _, err := ws.addModule(pass, l, target, r.Old.Path); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// resolve maps an import path seen in dir to a repository directory to
// materialize: a package of a known module, or a vendored package.
func (ws *workspace) resolve(pass *axes.Pass, l *layout, dir, ip string) (string, bool) {
	if root, ok := l.moduleRoot(dir); ok {
		if m := ws.known[root]; m != nil && m.vendor {
			if v := path.Join(root, "vendor", ip); len(l.byDir[v]) > 0 {
				return v, true
			}
		}
	}
	best := ""
	var bm *module
	for _, m := range ws.known {
		if m.path == "" || !(ip == m.path || strings.HasPrefix(ip, m.path+"/")) {
			continue
		}
		if len(m.path) > len(best) {
			best, bm = m.path, m
		}
	}
	if bm == nil {
		return "", false
	}
	d := path.Join(bm.root, strings.TrimPrefix(strings.TrimPrefix(ip, bm.path), "/"))
	if len(l.byDir[d]) == 0 {
		return "", false
	}
	return d, true
}

// writeDir writes the .go files of dir and the files its //go:embed
// directives name, and returns the import paths of those Go files.
func (ws *workspace) writeDir(pass *axes.Pass, l *layout, dir string) ([]string, error) {
	seen := map[string]bool{}
	var imports []string
	for _, f := range l.byDir[dir] {
		if !strings.HasSuffix(f, ".go") {
			continue
		}
		src, err := pass.Head.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		if err := ws.write(f, src); err != nil {
			return nil, err
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			continue // go list reports it
		}
		for _, is := range af.Imports {
			ip, err := strconv.Unquote(is.Path.Value)
			if err == nil && !seen[ip] {
				seen[ip] = true
				imports = append(imports, ip)
			}
		}
		for _, pat := range embedPatterns(src) {
			if err := ws.writeEmbedded(pass, l, dir, pat); err != nil {
				return nil, err
			}
		}
	}
	return imports, nil
}

// embedPatterns returns the patterns of the //go:embed directives in src.
func embedPatterns(src []byte) []string {
	if !bytes.Contains(src, []byte("//go:embed")) {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(src), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "//go:embed")
		if !ok {
			continue
		}
		for _, f := range strings.Fields(rest) {
			if u, err := strconv.Unquote(f); err == nil {
				f = u
			}
			out = append(out, strings.TrimPrefix(f, "all:"))
		}
	}
	return out
}

// writeEmbedded writes the files below dir matching an embed pattern: the
// pattern matches the file or one of its parent directories.
func (ws *workspace) writeEmbedded(pass *axes.Pass, l *layout, dir, pat string) error {
	prefix := dir + "/"
	if dir == "." {
		prefix = ""
	}
	for f := range l.files {
		rel, ok := strings.CutPrefix(f, prefix)
		if !ok {
			continue
		}
		if _, done := ws.written[f]; done {
			continue
		}
		match := false
		for p := rel; p != "." && p != ""; p = path.Dir(p) {
			if ok, _ := path.Match(pat, p); ok {
				match = true
				break
			}
		}
		if match {
			if err := ws.copyFile(pass, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (ws *workspace) copyFile(pass *axes.Pass, p string) error {
	data, err := pass.Head.ReadFile(p)
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	return ws.write(p, data)
}

func (ws *workspace) write(p string, data []byte) error {
	if _, done := ws.written[p]; done {
		return nil
	}
	ws.written[p] = struct{}{}
	ws.bytes += int64(len(data))
	if len(ws.written) > ws.opts.maxFiles() || ws.bytes > ws.opts.maxBytes() {
		return fmt.Errorf("%w: more than %d files or %d MiB needed to load the changed packages", errTooLarge, ws.opts.maxFiles(), ws.opts.maxBytes()>>20)
	}
	full := filepath.Join(ws.dir, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return err
	}
	return os.WriteFile(full, data, 0o644)
}

// remove deletes the temporary directory.
func (ws *workspace) remove() {
	if ws != nil && ws.dir != "" {
		os.RemoveAll(ws.dir)
	}
}
