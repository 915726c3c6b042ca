package analyzers

import (
	"go/token"
	"io"
	"log"
	"sort"
	"strconv"
	"strings"

	"github.com/securego/gosec/v2"
	gosecanalyzers "github.com/securego/gosec/v2/analyzers"
	"github.com/securego/gosec/v2/issue"
	gosecrules "github.com/securego/gosec/v2/rules"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/packages"

	"github.com/fiveaxis/fiveaxis/axes"
)

// gosecRule is one gosec rule fiveaxis keeps. gosec's other rules are either
// audits ("G104 errors not checked", "G304 file path from a variable"),
// covered by the AST rules, or too noisy for a reviewer that must stay quiet
// on good code (G115 integer conversions, G404 math/rand, G401 md5/sha1 for
// any purpose).
type gosecRule struct {
	id       string
	severity axes.Severity
	class    string
	why      string
}

var gosecKept = []gosecRule{
	{"G106", axes.SeverityError, "", "ssh.InsecureIgnoreHostKey accepts any server key, so a man in the middle can read the session."},
	{"G305", axes.SeverityError, "path-traversal", "Archive entry names joined to a path let a crafted archive write outside the target (zip slip)."},
	{"G402", axes.SeverityWarning, "insecure-tls", "Weak TLS settings let an attacker intercept or downgrade the connection."},
	{"G403", axes.SeverityWarning, "", "RSA keys shorter than 2048 bits can be factored."},
	{"G407", axes.SeverityError, "", "A hard-coded IV or nonce reused across encryptions breaks the cipher's confidentiality."},
	{"G701", axes.SeverityError, "sql-injection", "Untrusted input reaches a SQL query unescaped (taint analysis); use placeholders."},
	{"G702", axes.SeverityWarning, "command-injection", "Untrusted input (request, environment or command line) reaches a command line (taint analysis); pass arguments separately and validate them."},
}

// G201 and G202 (SQL built with Sprintf or +) are left out: they flag the
// safe idiom of joining generated placeholders ("$1,$2") into an IN clause,
// at error severity, and security/sql-injection covers the class with
// placeholder and allow-list awareness; G701's taint analysis stays.
//
// G703 (taint to a file path) is left out: on real code it fires on every
// os.Open of a path that came from a flag, the environment or a config
// file. security/path-traversal covers request paths.

// gosecRules returns the kept gosec rules as fiveaxis rules, all on the
// security axis, sharing one analyzer.
func gosecRules(a *analysis.Analyzer) []Rule {
	out := make([]Rule, 0, len(gosecKept))
	for _, g := range gosecKept {
		out = append(out, Rule{
			ID: "security/gosec-" + lower(g.id), Axis: axes.Security, Severity: g.severity,
			Why: g.why, Class: g.class, analyzer: a, category: g.id,
		})
	}
	return out
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// newGosecAnalyzer returns a go/analysis analyzer running the kept gosec
// rules and SSA analyzers on one package. Each diagnostic's Category is the
// gosec rule id. It is built per Checkers call: gosec's own
// goanalysis.Analyzer reads package-level flags.
func newGosecAnalyzer() *analysis.Analyzer {
	ids := make([]string, 0, len(gosecKept))
	for _, g := range gosecKept {
		ids = append(ids, g.id)
	}
	return &analysis.Analyzer{
		Name:     "gosec",
		Doc:      "gosec: selected security rules (" + joinIDs(ids) + ").",
		Requires: []*analysis.Analyzer{buildssa.Analyzer},
		Run: func(pass *analysis.Pass) (any, error) {
			g := gosec.NewAnalyzer(gosec.NewConfig(), false, true, false, 1, log.New(io.Discard, "", 0))
			ruleDefs, ruleOff := gosecrules.Generate(false, gosecrules.NewRuleFilter(false, ids...)).RulesInfo()
			g.LoadRules(ruleDefs, ruleOff)
			anDefs, anOff := gosecanalyzers.Generate(false, gosecanalyzers.NewAnalyzerFilter(false, ids...)).AnalyzersInfo()
			g.LoadAnalyzers(anDefs, anOff)
			pkg := &packages.Package{
				Name: pass.Pkg.Name(), PkgPath: pass.Pkg.Path(), Fset: pass.Fset, Syntax: pass.Files,
				Types: pass.Pkg, TypesInfo: pass.TypesInfo, TypesSizes: pass.TypesSizes,
			}
			files := map[string]*token.File{}
			for _, f := range pass.Files {
				tf := pass.Fset.File(f.Pos())
				pkg.CompiledGoFiles = append(pkg.CompiledGoFiles, tf.Name())
				files[tf.Name()] = tf
			}
			g.CheckRules(pkg)
			if ssa, ok := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA); ok && ssa != nil {
				g.CheckAnalyzersWithSSA(pkg, ssa)
			}
			issues, _, _ := g.Report()
			for _, iss := range issues {
				// Security findings in tests are noise: test helpers run
				// commands and open paths built from their inputs by design.
				if iss.NoSec || iss.Confidence < issue.Medium || strings.HasSuffix(iss.File, "_test.go") {
					continue
				}
				tf := files[iss.File]
				line, err := strconv.Atoi(firstNumber(iss.Line))
				if tf == nil || err != nil || line < 1 || line > tf.LineCount() {
					continue
				}
				pass.Report(analysis.Diagnostic{Pos: tf.LineStart(line), Category: iss.RuleID, Message: iss.What})
			}
			return nil, nil
		},
	}
}

// firstNumber returns the first line of a gosec line range such as "12-14".
func firstNumber(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return s[:i]
		}
	}
	return s
}

func joinIDs(ids []string) string {
	s := append([]string(nil), ids...)
	sort.Strings(s)
	out := ""
	for i, id := range s {
		if i > 0 {
			out += ", "
		}
		out += id
	}
	return out
}
