package readability

import (
	"bufio"
	"bytes"
	"context"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// DebugStatement reports debugging statements left in JavaScript, TypeScript
// and Python code.
var DebugStatement = &axes.Checker{
	Name: "readability/debug-statement",
	Doc: "Debug statement in JavaScript, TypeScript or Python code. " +
		"debugger, breakpoint() and pdb.set_trace() stop the program, and console.log or print calls in " +
		"application and library modules dump internal data into the user's console or the service's output; " +
		"remove them or use the project's logger. Scripts and command-line programs (a shebang, a " +
		"__main__ block, argv handling, scripts/ or tools/ directories) may print: there only prints " +
		"marked as debugging (\"DEBUG\", \"XXX\", \"here\", f\"{x=}\") are reported. Tests and build configuration are skipped.",
	Axis:     axes.Readability,
	Severity: axes.SeverityWarning,
	Run:      runDebugStatement,
}

var (
	jsExts = map[string]bool{".js": true, ".jsx": true, ".mjs": true, ".cjs": true, ".ts": true, ".tsx": true, ".mts": true, ".cts": true, ".vue": true, ".svelte": true}

	jsDebugger  = regexp.MustCompile(`^\s*debugger\s*;?\s*(//.*)?$`)
	jsConsole   = regexp.MustCompile(`\bconsole\.(log|debug|dir|trace|table)\s*\(\s*(.?)`)
	pyBreak     = regexp.MustCompile(`^\s*(breakpoint\(\)|(i?pdb|pudb)\.set_trace\(\)|import\s+(i?pdb|pudb)\b|from\s+(i?pdb|pudb)\s+import\b)`)
	pyPrint     = regexp.MustCompile(`^\s*(print|pprint|pp|ic)\s*\(\s*(.?)`)
	debugMarker = regexp.MustCompile(`(?i)^\s*(debug|dbg|xxx|here\b|>>>|<<<|!!!|\*\*\*|@@@|===)`)
	pyDebugFStr = regexp.MustCompile(`\{[A-Za-z_][\w.\[\]'"]*\s*=\s*(![rsa])?(:[^}]*)?\}`)

	// programDirs hold code that is run by hand, where output is the point.
	programDirs = []string{"scripts", "script", "bin", "tools", "tool", "cli", "cmd", "hack", "examples", "example", "docs", "doc", "benchmarks", "bench", "migrations"}
	testDirs    = []string{"test", "tests", "__tests__", "__mocks__", "e2e", "cypress", "spec", "fixtures", "testdata", "node_modules", "vendor", "dist", "build", "site-packages"}

	jsProgram = regexp.MustCompile(`\bprocess\.(argv|exit)\b|\.listen\s*\(|\byargs\b|\bcommander\b`)
	pyProgram = regexp.MustCompile(`(?m)^if\s+__name__\s*==\s*['"]__main__['"]|\bargparse\b|\bsys\.argv\b|^import\s+(click|typer|fire)\b|^from\s+(click|typer)\s+import`)
)

var (
	// consoleAllowed is a file-wide ESLint directive that allows console.
	consoleAllowed = regexp.MustCompile(`(?m)^\s*(/\*|//)\s*eslint-disable\s+([\w/-]+\s*,\s*)*no-console\b`)
	// consoleLineAllowed and consoleNextAllowed allow it for one line.
	consoleLineAllowed = regexp.MustCompile(`eslint-disable-line\s+([\w/-]+\s*,\s*)*no-console\b`)
	consoleNextAllowed = regexp.MustCompile(`eslint-disable-next-line\s+([\w/-]+\s*,\s*)*no-console\b`)
	loggerBase         = regexp.MustCompile(`^(log|logs|logger|logging|console)(\.[a-z]+)?$`)

	pyDef       = regexp.MustCompile(`^(\s*)(async\s+)?def\s+(\w+)\s*\(`)
	pyReturnVal = regexp.MustCompile(`^\s*return\s+(\S.*)$`)
	pyMainLike  = regexp.MustCompile(`^(main|_main|run|cli|app|report|show|display|render|emit|output|dump|print\w*|echo\w*|usage|_?print\w*)$`)
)

// loggerModule reports whether p is a logging module (logger.ts,
// log/index.js), whose job is to write to the console.
func loggerModule(p string) bool {
	b := strings.ToLower(path.Base(p))
	if strings.HasPrefix(b, "index.") {
		b = path.Base(path.Dir(strings.ToLower(p)))
	}
	return loggerBase.MatchString(strings.TrimSuffix(b, path.Ext(b)))
}

// pyFunc is one Python function: its lines and whether it returns a value.
type pyFunc struct {
	start, end int // 1-based, end exclusive
	value      bool
}

// pyFuncs finds the functions of a Python file by indentation and whether
// each returns a computed value: "return x" rather than none, None, a
// number (an exit status) or a boolean. Functions named like a program's
// entry or output (main, run, report, print_*) do not count as computing.
func pyFuncs(data []byte) []pyFunc {
	lines := strings.Split(string(data), "\n")
	var out []pyFunc
	for i, l := range lines {
		m := pyDef.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		indent := len(m[1])
		f := pyFunc{start: i + 1, end: len(lines) + 1}
		for j := i + 1; j < len(lines); j++ {
			t := strings.TrimSpace(lines[j])
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if len(lines[j])-len(strings.TrimLeft(lines[j], " \t")) <= indent && !strings.HasPrefix(t, ")") {
				f.end = j + 1
				break
			}
			if r := pyReturnVal.FindStringSubmatch(lines[j]); r != nil {
				v := strings.TrimSpace(r[1])
				if _, err := strconv.Atoi(v); err != nil && v != "None" && v != "True" && v != "False" {
					f.value = true
				}
			}
		}
		if pyMainLike.MatchString(m[3]) {
			f.value = false
		}
		out = append(out, f)
	}
	return out
}

// inValueFunc reports whether line n lies in the innermost function of fs
// that returns a computed value.
func inValueFunc(fs []pyFunc, n int) bool {
	var in *pyFunc
	for i := range fs {
		if fs[i].start < n && n < fs[i].end && (in == nil || fs[i].start > in.start) {
			in = &fs[i]
		}
	}
	return in != nil && in.value
}

// debugLang returns "js" or "py" for files the rule reads, or "".
func debugLang(p string) string {
	lp := strings.ToLower(p)
	b := path.Base(lp)
	elems := strings.Split(path.Dir(lp), "/")
	for _, e := range elems {
		for _, d := range testDirs {
			if e == d {
				return ""
			}
		}
	}
	switch ext := path.Ext(b); {
	case jsExts[ext]:
		if strings.Contains(b, ".test.") || strings.Contains(b, ".spec.") || strings.Contains(b, ".stories.") ||
			strings.Contains(b, ".config.") || strings.HasSuffix(b, ".min.js") || strings.HasSuffix(b, ".d.ts") ||
			strings.HasPrefix(b, "gulpfile") || strings.HasPrefix(b, "gruntfile") {
			return ""
		}
		return "js"
	case ext == ".py":
		if strings.HasPrefix(b, "test_") || strings.HasSuffix(b, "_test.py") || b == "conftest.py" ||
			b == "setup.py" || b == "manage.py" || b == "noxfile.py" || b == "fabfile.py" || b == "tasks.py" {
			return ""
		}
		return "py"
	}
	return ""
}

// programFile reports whether the file at p with content data is a script or
// command whose job includes printing.
func programFile(p, lang string, data []byte) bool {
	if bytes.HasPrefix(data, []byte("#!")) {
		return true
	}
	for _, e := range strings.Split(path.Dir(strings.ToLower(p)), "/") {
		for _, d := range programDirs {
			if e == d {
				return true
			}
		}
	}
	if lang == "js" {
		return jsProgram.Match(data)
	}
	b := path.Base(p)
	return b == "__main__.py" || b == "cli.py" || b == "main.py" || pyProgram.Match(data)
}

func runDebugStatement(ctx context.Context, pass *axes.Pass) error {
	for _, fd := range pass.ChangedFiles() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		lang := debugLang(fd.NewPath)
		if fd.Binary || len(fd.Added) == 0 || lang == "" {
			continue
		}
		data := pass.ReadHeadFile(fd.NewPath)
		if lang == "js" && (consoleAllowed.Match(data) || loggerModule(fd.NewPath)) {
			continue // the file's job is to write to the console
		}
		program := programFile(fd.NewPath, lang, data)
		var funcs []pyFunc
		if lang == "py" && program {
			funcs = pyFuncs(data)
		}
		prev := ""
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		inBlock := false // inside a /* */ comment or a Python docstring
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			above := prev
			prev = line
			var skip bool
			skip, inBlock = commentLine(lang, line, inBlock)
			if skip || !pass.IsAdded(fd.NewPath, n) || lang == "js" && (consoleLineAllowed.MatchString(line) || consoleNextAllowed.MatchString(above)) {
				continue
			}
			// In a program, a print inside a function that computes and
			// returns a value is debugging, not the program's output.
			prog := program && !inValueFunc(funcs, n)
			if msg := debugStatement(lang, line, prog); msg != "" {
				pass.Report(axes.Finding{Path: fd.NewPath, Line: n, Message: msg})
			}
		}
	}
	return nil
}

// commentLine reports whether line is (part of) a comment or docstring, and
// whether a block comment or docstring continues after it.
func commentLine(lang, line string, inBlock bool) (bool, bool) {
	t := strings.TrimSpace(line)
	if lang == "js" {
		if inBlock {
			return true, !strings.Contains(t, "*/")
		}
		if strings.HasPrefix(t, "//") || strings.HasPrefix(t, "*") {
			return true, false
		}
		if strings.HasPrefix(t, "/*") {
			return true, !strings.Contains(t, "*/")
		}
		return false, false
	}
	quotes := strings.Count(t, `"""`) + strings.Count(t, `'''`)
	if inBlock {
		return true, quotes%2 == 0
	}
	if strings.HasPrefix(t, "#") {
		return true, false
	}
	if strings.HasPrefix(t, `"""`) || strings.HasPrefix(t, `'''`) || strings.HasPrefix(t, `r"""`) {
		return true, quotes%2 == 1
	}
	return false, quotes%2 == 1
}

// debugStatement returns the message for a debug statement on line, or "".
func debugStatement(lang, line string, program bool) string {
	if lang == "js" {
		if jsDebugger.MatchString(line) {
			return "This debugger statement pauses the app for everyone who has the developer tools open; remove it."
		}
		m := jsConsole.FindStringSubmatchIndex(line)
		if m == nil {
			return ""
		}
		if program && !debugMarker.MatchString(quotedStart(line[m[4]:])) {
			return ""
		}
		return "This console." + line[m[2]:m[3]] + " looks like left-over debugging and dumps internal data into the console of every user; remove it or use the project's logger."
	}
	if pyBreak.MatchString(line) {
		return "This breakpoint stops the program waiting for a debugger; remove it."
	}
	m := pyPrint.FindStringSubmatchIndex(line)
	if m == nil || strings.Contains(line, "file=") {
		return ""
	}
	arg := line[m[4]:]
	if program && !debugMarker.MatchString(quotedStart(arg)) && !(strings.HasPrefix(arg, "f") && pyDebugFStr.MatchString(arg)) {
		return ""
	}
	return "This " + line[m[2]:m[3]] + " call looks like left-over debugging and dumps internal data into the program's output; remove it or log through the logging module."
}

// quotedStart returns the text of a string literal that s starts with (after
// an optional Python f/r prefix or a JS template quote), or "".
func quotedStart(s string) string {
	s = strings.TrimLeft(s, "frbuFRBU")
	if s == "" || !strings.ContainsRune("\"'`", rune(s[0])) {
		return ""
	}
	return s[1:]
}
