package architecture

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// GoModChange reports new dependencies and replace directives in go.mod.
var GoModChange = &axes.Checker{
	Name:     "architecture/go-mod-change",
	Doc:      `New module dependencies and replace directives deserve a deliberate look. A new direct requirement adds code the team must trust, update and audit; a replace directive (above all one pointing at a local directory or a fork) changes what every build compiles and breaks builds outside the author's machine. Indirect requirements and version bumps of existing modules are not reported.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityInfo,
	Run:      runGoModChange,
}

type modLine struct {
	line     int
	verb     string // "require" or "replace"
	text     string // the directive without the verb
	indirect bool
}

// parseGoMod returns the require and replace entries of a go.mod file, with
// their 1-based lines.
func parseGoMod(data []byte) []modLine {
	var out []modLine
	block := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		text := strings.TrimSpace(raw)
		comment := ""
		if i := strings.Index(text, "//"); i >= 0 {
			comment = text[i:]
			text = strings.TrimSpace(text[:i])
		}
		if text == "" {
			continue
		}
		if block != "" {
			if text == ")" {
				block = ""
				continue
			}
			out = append(out, modLine{n, block, text, strings.Contains(comment, "indirect")})
			continue
		}
		verb, rest, _ := strings.Cut(text, " ")
		rest = strings.TrimSpace(rest)
		if verb != "require" && verb != "replace" {
			continue
		}
		if rest == "(" {
			block = verb
			continue
		}
		out = append(out, modLine{n, verb, rest, strings.Contains(comment, "indirect")})
	}
	return out
}

func modPathOf(text string) string {
	f := strings.Fields(text)
	if len(f) == 0 {
		return ""
	}
	return strings.Trim(f[0], `"`)
}

func runGoModChange(ctx context.Context, pass *axes.Pass) error {
	for _, fd := range pass.ChangedFiles() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if path.Base(fd.NewPath) != "go.mod" || len(fd.Added) == 0 {
			continue
		}
		head := pass.ReadHeadFile(fd.NewPath)
		if head == nil {
			continue
		}
		before := map[string]bool{}
		if fd.OldPath != "" {
			for _, m := range parseGoMod(pass.ReadBaseFile(fd.OldPath)) {
				before[m.verb+" "+modPathOf(m.text)] = true
			}
		}
		for _, m := range parseGoMod(head) {
			if !pass.IsAdded(fd.NewPath, m.line) {
				continue
			}
			mod := modPathOf(m.text)
			switch m.verb {
			case "replace":
				target := strings.TrimSpace(m.text[strings.Index(m.text, "=>")+2:])
				if !strings.Contains(m.text, "=>") {
					target = ""
				}
				msg := fmt.Sprintf("The new replace directive for %s changes what every build of this module compiles; prefer an upstream release, and if a fork is unavoidable, explain why and track its removal.", mod)
				if strings.HasPrefix(target, ".") || strings.HasPrefix(target, "/") {
					msg = fmt.Sprintf("The new replace directive points %s at the local directory %s, which does not exist on other machines or in CI; publish the change as a module version instead.", mod, target)
				}
				pass.Report(axes.Finding{Path: fd.NewPath, Line: m.line, Severity: axes.SeverityWarning, Message: msg})
			case "require":
				if m.indirect || before["require "+mod] {
					continue
				}
				pass.Report(axes.Finding{Path: fd.NewPath, Line: m.line, Message: fmt.Sprintf(
					"New dependency %s: check that it is maintained, licensed compatibly and worth its weight compared with the standard library or an existing dependency.", mod)})
			}
		}
	}
	return nil
}
