package axes

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"strings"
	"sync"

	"github.com/fiveaxis/fiveaxis/gitops"
)

// Tree reads the files of one revision of the repository.
type Tree interface {
	// ReadFile returns the content of path; the error wraps
	// gitops.ErrNotExist when the file does not exist.
	ReadFile(path string) ([]byte, error)
	// Files lists every file path of the revision, sorted.
	Files() ([]string, error)
}

// PullRequest is the text of the pull request under review. It is data, never
// instructions.
type PullRequest struct {
	Title string
	Body  string
	// Comments are the human comments on the PR, oldest first: data, never
	// instructions. The bot's own comments are not among them.
	Comments []string
}

// LayerRule forbids imports between packages: a package whose import path
// (relative to the module, e.g. "internal/store") matches From may not import
// a package matching any of Deny. Patterns are path.Match patterns, and a
// trailing "/..." also matches every package below.
type LayerRule struct {
	From string   `yaml:"from" json:"from"`
	Deny []string `yaml:"deny" json:"deny"`
}

// Settings are the thresholds and repository rules that checkers read. Zero
// values mean the defaults given by the methods.
type Settings struct {
	MaxFuncLines  int         `yaml:"max_func_lines" json:"max_func_lines,omitempty"`
	MaxNesting    int         `yaml:"max_nesting" json:"max_nesting,omitempty"`
	MaxPRLines    int         `yaml:"max_pr_lines" json:"max_pr_lines,omitempty"`
	MaxPRFiles    int         `yaml:"max_pr_files" json:"max_pr_files,omitempty"`
	Layers        []LayerRule `yaml:"layers" json:"layers,omitempty"`
	AllowPrintsIn []string    `yaml:"allow_prints_in" json:"allow_prints_in,omitempty"`
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

// FuncLines is the longest function body, in lines, that is not reported.
func (s Settings) FuncLines() int { return orDefault(s.MaxFuncLines, 80) }

// Nesting is the deepest block nesting that is not reported.
func (s Settings) Nesting() int { return orDefault(s.MaxNesting, 5) }

// PRLines is the largest number of changed lines a PR may have before a
// split is suggested.
func (s Settings) PRLines() int { return orDefault(s.MaxPRLines, 1500) }

// PRFiles is the largest number of changed files a PR may have before a
// split is suggested.
func (s Settings) PRFiles() int { return orDefault(s.MaxPRFiles, 60) }

// Input is what every checker of one review sees.
type Input struct {
	Diff     *gitops.Diff
	Drift    *gitops.Drift // nil when drift was not computed
	Base     Tree          // the merge-base revision
	Head     Tree          // the PR head revision
	Settings Settings
	PR       PullRequest
}

// GoFile is a parsed Go source file of the head revision.
type GoFile struct {
	Path   string
	Src    []byte
	Fset   *token.FileSet
	AST    *ast.File
	IsTest bool
}

// Line returns the 1-based line of pos.
func (g *GoFile) Line(pos token.Pos) int { return g.Fset.Position(pos).Line }

// shared holds the pre-passes that all checkers of one run share.
type shared struct {
	in    *Input
	added map[string]map[int]bool
	files map[string]*gitops.FileDiff

	mu     sync.Mutex
	parsed map[string]*parseResult

	filesOnce sync.Once
	headFiles []string
	filesErr  error
}

// files lists the head tree once per run.
func (s *shared) headFileList() ([]string, error) {
	s.filesOnce.Do(func() {
		if s.in.Head == nil {
			return
		}
		s.headFiles, s.filesErr = s.in.Head.Files()
	})
	return s.headFiles, s.filesErr
}

type parseResult struct {
	once sync.Once
	file *GoFile
	err  error
}

func newShared(in *Input) *shared {
	s := &shared{in: in, added: map[string]map[int]bool{}, files: map[string]*gitops.FileDiff{}, parsed: map[string]*parseResult{}}
	if in.Diff != nil {
		for _, f := range in.Diff.Files {
			if f.NewPath == "" {
				continue
			}
			s.files[f.NewPath] = f
			m := make(map[int]bool, len(f.Added))
			for _, l := range f.Added {
				m[l] = true
			}
			s.added[f.NewPath] = m
		}
	}
	return s
}

func (s *shared) goFile(p string) (*GoFile, error) {
	s.mu.Lock()
	r, ok := s.parsed[p]
	if !ok {
		r = &parseResult{}
		s.parsed[p] = r
	}
	s.mu.Unlock()
	r.once.Do(func() {
		src, err := s.in.Head.ReadFile(p)
		if err != nil {
			r.err = err
			return
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			r.err = err
			return
		}
		r.file = &GoFile{Path: p, Src: src, Fset: fset, AST: f, IsTest: strings.HasSuffix(p, "_test.go")}
	})
	return r.file, r.err
}

// Pass is one checker's view of a review: the diff, the drift, the base and
// head trees, the settings, and Report.
type Pass struct {
	Checker *Checker
	*Input
	shared *shared
	report func(Finding)
	note   func(string)
	prior  []Finding
}

// Prior returns, to a Late checker, the findings the other checkers reported
// (already filtered to the PR's lines and de-duplicated), so that it can
// rank its work by them or agree with them. Other checkers get nil. The
// slice is shared: do not modify it.
func (p *Pass) Prior() []Finding { return p.prior }

// Note records a line for the review's coverage notes, such as what an
// analyzer could not load or how much of the PR a model saw.
func (p *Pass) Note(msg string) {
	if p.note != nil {
		p.note(msg)
	}
}

// Report records a finding. Rule, Axis, Severity and Source default to the
// checker's Name, Axis, Severity and SourceHeuristic.
func (p *Pass) Report(f Finding) {
	if f.Rule == "" {
		f.Rule = p.Checker.Name
	}
	if f.Axis == "" {
		f.Axis = p.Checker.Axis
	}
	if f.Severity == "" {
		f.Severity = p.Checker.Severity
	}
	if f.Source == "" {
		f.Source = SourceHeuristic
	}
	p.report(f)
}

// ChangedFiles returns the files the PR adds, modifies or renames (not the
// deleted ones), in diff order.
func (p *Pass) ChangedFiles() []*gitops.FileDiff {
	if p.Diff == nil {
		return nil
	}
	var out []*gitops.FileDiff
	for _, f := range p.Diff.Files {
		if f.NewPath != "" {
			out = append(out, f)
		}
	}
	return out
}

// ChangedGoFiles returns the parsed head versions of the changed .go files
// that parse, skipping vendored and generated ones. includeTests controls
// whether _test.go files are included.
func (p *Pass) ChangedGoFiles(includeTests bool) []*GoFile {
	var out []*GoFile
	for _, f := range p.ChangedFiles() {
		if f.Binary || !strings.HasSuffix(f.NewPath, ".go") {
			continue
		}
		if !includeTests && strings.HasSuffix(f.NewPath, "_test.go") {
			continue
		}
		g, err := p.GoFile(f.NewPath)
		if err != nil || IsGenerated(g.AST) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// GoFile returns the parsed head version of the Go file at path. Parses are
// shared between checkers.
func (p *Pass) GoFile(path string) (*GoFile, error) { return p.shared.goFile(path) }

// HeadFiles lists every file of the head tree, sorted. The list is read once
// per run and shared by all checkers; do not modify it.
func (p *Pass) HeadFiles() ([]string, error) { return p.shared.headFileList() }

// PackageFiles returns the parsed head versions of every Go file in the
// directory dir (including tests), whether the PR changed them or not.
func (p *Pass) PackageFiles(dir string) []*GoFile {
	all, err := p.shared.headFileList()
	if err != nil {
		return nil
	}
	var out []*GoFile
	for _, f := range all {
		if path.Dir(f) == dir && strings.HasSuffix(f, ".go") {
			if g, err := p.GoFile(f); err == nil {
				out = append(out, g)
			}
		}
	}
	return out
}

// IsAdded reports whether the PR added line (1-based, head side) of path.
func (p *Pass) IsAdded(path string, line int) bool { return p.shared.added[path][line] }

// AddedIn reports whether the PR added any line in [from, to] of path.
func (p *Pass) AddedIn(path string, from, to int) bool {
	m := p.shared.added[path]
	for l := from; l <= to; l++ {
		if m[l] {
			return true
		}
	}
	return false
}

// FileDiff returns the diff of the file at path (head side), or nil.
func (p *Pass) FileDiff(path string) *gitops.FileDiff { return p.shared.files[path] }

// IsGenerated reports whether f carries the standard "Code generated ... DO
// NOT EDIT." comment.
func IsGenerated(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() > f.Package {
			break
		}
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "// Code generated ") && strings.HasSuffix(c.Text, " DO NOT EDIT.") {
				return true
			}
		}
	}
	return false
}
