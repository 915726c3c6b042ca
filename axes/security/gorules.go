package security

import (
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// ShellInjection reports shell commands built from non-constant strings.
var ShellInjection = &axes.Checker{
	Name:     "security/shell-injection",
	Doc:      `Commands must not be run through a shell with non-constant text. exec.Command("sh", "-c", s) with s built from a variable lets shell metacharacters in the value run arbitrary commands (command injection); run the program directly with its arguments as separate strings, exec.Command(name, arg1, arg2).`,
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run:      runShellInjection,
}

// InsecureTLS reports disabled TLS certificate verification.
var InsecureTLS = &axes.Checker{
	Name:     "security/insecure-tls",
	Doc:      `TLS certificate verification must stay on. InsecureSkipVerify: true accepts any certificate, so anyone on the network path can read and change the traffic; configure the right RootCAs instead. A MinVersion below TLS 1.2 is reported as a warning. Test files are not checked.`,
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run:      runInsecureTLS,
}

// WeakPasswordHash reports passwords hashed with a fast digest.
var WeakPasswordHash = &axes.Checker{
	Name:     "security/weak-password-hash",
	Doc:      `Passwords must be hashed with a slow, salted password hash. MD5 and SHA-1 (and, less badly, a bare SHA-256/512) are fast enough that leaked hashes are cracked by brute force in hours; use bcrypt, scrypt or argon2id from golang.org/x/crypto.`,
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run:      runWeakPasswordHash,
}

// InsecureRandom reports math/rand used for secrets.
var InsecureRandom = &axes.Checker{
	Name:     "security/insecure-random",
	Doc:      `Secrets must come from crypto/rand. math/rand is predictable: tokens, keys, passwords, nonces, salts or session ids drawn from it can be guessed by an attacker who sees a few outputs; use crypto/rand (rand.Read, rand.Text) instead.`,
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run:      runInsecureRandom,
}

// PathTraversal reports file paths built from request input.
var PathTraversal = &axes.Checker{
	Name:     "security/path-traversal",
	Doc:      `File paths must not be built from request input without confinement. filepath.Join(dir, name) with name from a URL, form or route parameter lets "../" escape dir and read or overwrite any file the process can reach; use os.Root (os.OpenInRoot), filepath.IsLocal, or Clean and check the result stays under dir.`,
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run:      runPathTraversal,
}

// ServerNoTimeouts reports HTTP servers without read timeouts.
var ServerNoTimeouts = &axes.Checker{
	Name:     "security/server-no-timeouts",
	Doc:      `HTTP servers need read timeouts. An http.Server without ReadHeaderTimeout or ReadTimeout, or http.ListenAndServe (which cannot set any), lets slow clients hold connections open forever (Slowloris) until the server runs out of them; build an http.Server with ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout. Test files are not checked.`,
	Axis:     axes.Security,
	Severity: axes.SeverityWarning,
	Run:      runServerNoTimeouts,
}

// SecretInLog reports secrets written to logs or standard output.
var SecretInLog = &axes.Checker{
	Name:     "security/secret-in-log",
	Doc:      `Secrets must not be logged. Passwords, tokens, API keys and private keys written to logs or standard output end up in log storage, backups and dashboards that many more people can read; log that the value is set (or a redacted prefix), never the value.`,
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run:      runSecretInLog,
}

// WorldWritablePerms reports files and directories created with permissions
// that are too open.
var WorldWritablePerms = &axes.Checker{
	Name:     "security/world-writable-perms",
	Doc:      `Files and directories should not be world-writable, and secrets should not be world-readable. Modes such as 0777 or 0666 let any local user replace the content (the umask usually reduces them, but containers and services often run with umask 0, so the code should ask for the mode it means), and a key or token file readable by group or others leaks it; use 0o600 for secrets, 0o644 or 0o755 otherwise.`,
	Axis:     axes.Security,
	Severity: axes.SeverityWarning,
	Run:      runWorldWritablePerms,
}

// addedCall reports whether any line of call was added.
func addedCall(pass *axes.Pass, g *axes.GoFile, n ast.Node) (int, int, bool) {
	from, to := g.Span(n)
	return from, to, pass.AddedIn(g.Path, from, to)
}

// inspectCalls calls fn for every call in the changed non-test Go files.
func inspectCalls(ctx context.Context, pass *axes.Pass, fn func(g *axes.GoFile, imports map[string]string, call *ast.CallExpr)) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		imports := g.Imports()
		ast.Inspect(g.AST, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				fn(g, imports, call)
			}
			return true
		})
	}
	return nil
}

var shells = map[string]bool{"sh": true, "bash": true, "zsh": true, "dash": true, "ksh": true, "ash": true, "cmd": true, "cmd.exe": true, "powershell": true, "pwsh": true}

func runShellInjection(ctx context.Context, pass *axes.Pass) error {
	return inspectCalls(ctx, pass, func(g *axes.GoFile, imports map[string]string, call *ast.CallExpr) {
		p, name := axes.PkgSelector(imports, call.Fun)
		if p != "os/exec" || (name != "Command" && name != "CommandContext") {
			return
		}
		args := call.Args
		if name == "CommandContext" && len(args) > 0 {
			args = args[1:]
		}
		if len(args) < 3 {
			return
		}
		prog, ok := stringLit(args[0])
		if !ok || !shells[strings.ToLower(path.Base(prog))] {
			return
		}
		flag, ok := stringLit(args[1])
		if !ok || (flag != "-c" && !strings.EqualFold(flag, "/c") && !strings.EqualFold(flag, "-command")) {
			return
		}
		if axes.IsConstExpr(args[2], axes.FileConsts(g.AST)) {
			return
		}
		from, to, ok := addedCall(pass, g, call)
		if !ok {
			return
		}
		what := exprText(args[2])
		if what == "" {
			what = "a built string"
		}
		pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
			"The shell runs %s as a script, so shell metacharacters in it execute arbitrary commands; run the program directly with exec.Command(name, args...) and pass values as separate arguments.", what)})
	})
}

func runInsecureTLS(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		imports := g.Imports()
		report := func(n ast.Node, sev axes.Severity, msg string) {
			if from, to, ok := addedCall(pass, g, n); ok {
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Severity: sev, Message: msg})
			}
		}
		const skipMsg = "InsecureSkipVerify: true turns off certificate verification, so anyone on the network path can impersonate the server and read or change the traffic; trust the right CA through RootCAs instead."
		ast.Inspect(g.AST, func(n ast.Node) bool {
			switch s := n.(type) {
			case *ast.KeyValueExpr:
				key, ok := s.Key.(*ast.Ident)
				if !ok {
					return true
				}
				switch {
				case key.Name == "InsecureSkipVerify" && isTrue(s.Value):
					report(s, axes.SeverityError, skipMsg)
				case key.Name == "MinVersion" && oldTLS(imports, s.Value):
					report(s, axes.SeverityWarning, "TLS versions below 1.2 have known weaknesses and are disabled by modern clients; set MinVersion to tls.VersionTLS12 or later.")
				}
			case *ast.AssignStmt:
				for i, lhs := range s.Lhs {
					if sel, ok := lhs.(*ast.SelectorExpr); ok && sel.Sel.Name == "InsecureSkipVerify" && i < len(s.Rhs) && isTrue(s.Rhs[i]) {
						report(s, axes.SeverityError, skipMsg)
					}
				}
			}
			return true
		})
	}
	return nil
}

func isTrue(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == "true"
}

func oldTLS(imports map[string]string, e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok || imports[id.Name] != "crypto/tls" {
		return false
	}
	switch sel.Sel.Name {
	case "VersionSSL30", "VersionTLS10", "VersionTLS11":
		return true
	}
	return false
}

// passwordish matches names of passwords and passphrases.
var passwordish = regexp.MustCompile(`(?i)passw|passwd|pwd|passphrase|^pw$|[a-z]Pw$|_pw$`)

// mentions reports whether any identifier or selector inside e has a name
// matching re.
func mentions(e ast.Node, re *regexp.Regexp) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident:
			if re.MatchString(x.Name) {
				found = true
			}
		case *ast.BasicLit:
			return false
		}
		return !found
	})
	return found
}

func runWeakPasswordHash(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		imports := g.Imports()
		weak := false
		for _, p := range imports {
			switch p {
			case "crypto/md5", "crypto/sha1", "crypto/sha256", "crypto/sha512":
				weak = true
			}
		}
		if !weak {
			continue
		}
		axes.FuncBodies(g.AST, func(decl *ast.FuncDecl, body *ast.BlockStmt) {
			funcIsPassword := decl != nil && passwordish.MatchString(decl.Name.Name)
			// A hash writer in a function that writes a password into it.
			writesPassword := false
			ast.Inspect(body, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok {
					name := axes.CalleeName(call)
					if (name == "Write" || name == "WriteString") && len(call.Args) > 0 && mentions(call.Args[len(call.Args)-1], passwordish) {
						writesPassword = true
					}
				}
				return true
			})
			ast.Inspect(body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				p, name := g.PkgFunc(call)
				var algo string
				switch p {
				case "crypto/md5":
					algo = "MD5"
				case "crypto/sha1":
					algo = "SHA-1"
				case "crypto/sha256", "crypto/sha512":
					algo = "SHA-2"
				default:
					return true
				}
				isNew := strings.HasPrefix(name, "New")
				onPassword := mentions(call, passwordish) || funcIsPassword || isNew && writesPassword
				if !onPassword {
					return true
				}
				from, to, ok := addedCall(pass, g, call)
				if !ok {
					return true
				}
				sev := axes.SeverityError
				if algo == "SHA-2" {
					sev = axes.SeverityWarning
				}
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Severity: sev, Message: fmt.Sprintf(
					"Passwords hashed with %s can be brute-forced quickly if the hashes leak; use a slow salted password hash such as bcrypt or argon2id (golang.org/x/crypto).", algo)})
				return true
			})
		})
	}
	return nil
}

// secretish matches names of values that must be unpredictable.
var secretish = regexp.MustCompile(`(?i)token|secret|passw|nonce|salt|session|api_?key|apikey|otp|csrf|credential|signing|private_?key|reset_?code|verif|auth_?code|invite_?code`)

// notSecretish excludes names that mention a secret without being one.
var notSecretish = regexp.MustCompile(`(?i)jitter|backoff|shuffle|sample|delay|retry|timeout|ttl|expir|count|len`)

func runInsecureRandom(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		imports := g.Imports()
		hasMathRand := false
		for _, p := range imports {
			if p == "math/rand" || p == "math/rand/v2" {
				hasMathRand = true
			}
		}
		if !hasMathRand {
			continue
		}
		feeds := secretFeeders(pass, g)
		axes.FuncBodies(g.AST, func(decl *ast.FuncDecl, body *ast.BlockStmt) {
			funcSecret := decl != nil && (isSecretName(decl.Name.Name) || feeds[decl.Name.Name])
			var stack []ast.Node
			ast.Inspect(body, func(n ast.Node) bool {
				if n == nil {
					stack = stack[:len(stack)-1]
					return true
				}
				stack = append(stack, n)
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				p, name := g.PkgFunc(call)
				if p != "math/rand" && p != "math/rand/v2" || name == "Seed" || name == "New" || name == "NewSource" || name == "NewPCG" {
					return true
				}
				target := secretTarget(stack)
				if !funcSecret && target == "" {
					return true
				}
				if target == "" {
					target = decl.Name.Name
				}
				from, to, ok := addedCall(pass, g, call)
				if !ok {
					return true
				}
				pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
					"%s draws from math/rand, which is predictable, so an attacker can guess the value; use crypto/rand (rand.Read or rand.Text) for anything secret.", target)})
				return true
			})
		})
	}
	return nil
}

func isSecretName(n string) bool {
	return secretish.MatchString(n) && !notSecretish.MatchString(n)
}

// secretFeeders returns the names of the package's functions whose results
// become secrets: assigned to a secret-like name (token := randString(32)),
// used as a secret-like field, or returned by a secret-like function.
func secretFeeders(pass *axes.Pass, g *axes.GoFile) map[string]bool {
	m := map[string]bool{}
	callee := func(e ast.Expr) string {
		if call, ok := e.(*ast.CallExpr); ok {
			if _, isSel := call.Fun.(*ast.SelectorExpr); !isSel {
				return axes.CalleeName(call)
			}
		}
		return ""
	}
	for _, f := range pass.PackageFiles(path.Dir(g.Path)) {
		if f.AST.Name.Name != g.AST.Name.Name {
			continue
		}
		for _, d := range f.AST.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			secretFunc := isSecretName(fd.Name.Name)
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch s := n.(type) {
				case *ast.AssignStmt:
					for i, l := range s.Lhs {
						if i < len(s.Rhs) && isSecretName(exprName(l)) {
							if c := callee(s.Rhs[i]); c != "" {
								m[c] = true
							}
						}
					}
				case *ast.CompositeLit:
					for _, e := range s.Elts {
						if kv, ok := e.(*ast.KeyValueExpr); ok && secretField(s, kv) {
							if c := callee(kv.Value); c != "" {
								m[c] = true
							}
						}
					}
				case *ast.ReturnStmt:
					if secretFunc {
						for _, r := range s.Results {
							if c := callee(r); c != "" {
								m[c] = true
							}
						}
					}
				case *ast.FuncLit:
					return false
				}
				return true
			})
		}
	}
	return m
}

// secretField reports whether the field kv of lit holds a secret: its
// name looks like one, alone or after the literal's type name (Code in an
// Invite is an invite code, Token in a Reset a reset token).
func secretField(lit *ast.CompositeLit, kv *ast.KeyValueExpr) bool {
	n := exprName(kv.Key)
	if n == "" {
		return false
	}
	if isSecretName(n) {
		return true
	}
	if lit == nil {
		return false
	}
	t := lit.Type
	if sel, ok := t.(*ast.SelectorExpr); ok {
		t = sel.Sel
	}
	tn := exprName(t)
	return tn != "" && isSecretName(tn+n) && !notSecretish.MatchString(tn)
}

// secretTarget returns the secret-looking name that the innermost call of
// stack is assigned to, or "".
func secretTarget(stack []ast.Node) string {
	for i := len(stack) - 2; i >= 0; i-- {
		switch s := stack[i].(type) {
		case *ast.AssignStmt:
			for _, l := range s.Lhs {
				if n := exprName(l); n == "" {
					if ix, ok := l.(*ast.IndexExpr); ok {
						n = exprName(ix.X)
					}
					if secretish.MatchString(n) && !notSecretish.MatchString(n) {
						return n
					}
				} else if secretish.MatchString(n) && !notSecretish.MatchString(n) {
					return n
				}
			}
			return ""
		case *ast.ValueSpec:
			for _, id := range s.Names {
				if secretish.MatchString(id.Name) && !notSecretish.MatchString(id.Name) {
					return id.Name
				}
			}
			return ""
		case *ast.KeyValueExpr:
			var lit *ast.CompositeLit
			if i > 0 {
				lit, _ = stack[i-1].(*ast.CompositeLit)
			}
			if secretField(lit, s) {
				return exprName(s.Key)
			}
			return ""
		case *ast.FuncLit, *ast.BlockStmt:
			return ""
		}
	}
	return ""
}

// requestInput reports whether e reads untrusted request input; strong is
// false when the only input is r.URL.Path, which http.ServeMux cleans.
func requestInput(e ast.Expr, imports map[string]string) (string, bool, bool) {
	found, strong := "", false
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			name := axes.CalleeName(x)
			switch name {
			case "FormValue", "PostFormValue", "PathValue", "URLParam", "FormFile":
				if p, _ := axes.PkgSelector(imports, x.Fun); p == "" || strings.Contains(p, "chi") {
					found, strong = exprText(x), true
					return false
				}
			case "Param", "Query", "DefaultQuery", "Params", "QueryParam", "ByName":
				// gin, echo and httprouter: c.Param("id"), ps.ByName("id")
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok && len(x.Args) == 1 {
					switch exprName(sel.X) {
					case "c", "ctx", "e", "ps", "params", "p":
						found, strong = exprText(x), true
						return false
					}
				}
			case "Get":
				if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
					if inner, ok := sel.X.(*ast.CallExpr); ok && axes.CalleeName(inner) == "Query" {
						found, strong = exprText(x), true
						return false
					}
					if s2, ok := sel.X.(*ast.SelectorExpr); ok && (s2.Sel.Name == "Form" || s2.Sel.Name == "PostForm" || s2.Sel.Name == "Header") {
						found, strong = exprText(x), true
						return false
					}
				}
			}
		case *ast.IndexExpr:
			if call, ok := x.X.(*ast.CallExpr); ok && axes.CalleeName(call) == "Vars" {
				found, strong = "mux.Vars(…)[…]", true
				return false
			}
		case *ast.SelectorExpr:
			if x.Sel.Name == "Path" {
				if inner, ok := x.X.(*ast.SelectorExpr); ok && inner.Sel.Name == "URL" {
					if found == "" {
						found = exprText(x)
					}
					return false
				}
			}
		}
		return true
	})
	if found == "" {
		return "", false, false
	}
	return found, strong, true
}

// confined reports whether the function body checks paths in a way that can
// confine them to a directory.
func confined(body ast.Node, imports map[string]string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		p, name := axes.PkgSelector(imports, call.Fun)
		switch {
		case p == "strings" && (name == "HasPrefix" || name == "Contains" || name == "CutPrefix"),
			(p == "path/filepath" || p == "path") && (name == "Rel" || name == "IsLocal" || name == "Localize" || name == "IsAbs"),
			p == "os" && (name == "OpenRoot" || name == "OpenInRoot"):
			found = true
		case p == "" && (strings.Contains(strings.ToLower(axes.CalleeName(call)), "valid") || strings.Contains(strings.ToLower(axes.CalleeName(call)), "sanitiz") || strings.Contains(strings.ToLower(axes.CalleeName(call)), "safe")):
			found = true
		}
		return !found
	})
	return found
}

// pathSinks are file-system functions and the indexes of their path
// arguments (-1: all arguments).
var pathSinks = map[string]map[string][]int{
	"path/filepath": {"Join": {-1}},
	"os": {"Open": {0}, "OpenFile": {0}, "ReadFile": {0}, "WriteFile": {0}, "Create": {0},
		"Remove": {0}, "RemoveAll": {0}, "ReadDir": {0}, "Mkdir": {0}, "MkdirAll": {0}, "Rename": {0, 1}},
	"io/ioutil": {"ReadFile": {0}, "WriteFile": {0}},
	"net/http":  {"ServeFile": {2}},
}

func sinkArgs(call *ast.CallExpr, idx []int) []ast.Expr {
	if len(idx) == 1 && idx[0] < 0 {
		return call.Args
	}
	var out []ast.Expr
	for _, i := range idx {
		if i < len(call.Args) {
			out = append(out, call.Args[i])
		}
	}
	return out
}

func runPathTraversal(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		imports := g.Imports()
		axes.FuncBodies(g.AST, func(_ *ast.FuncDecl, body *ast.BlockStmt) {
			if confined(body, imports) {
				return
			}
			tainted := map[string]pathTaint{}
			reported := map[int]bool{}
			ast.Inspect(body, func(n ast.Node) bool {
				switch s := n.(type) {
				case *ast.AssignStmt:
					if len(s.Rhs) == 1 && len(s.Lhs) > 1 {
						// file, header, err := r.FormFile("upload")
						if src, ok := taintedPath(s.Rhs[0], imports, tainted); ok {
							for _, l := range s.Lhs {
								if id, ok := l.(*ast.Ident); ok && id.Name != "err" && id.Name != "_" {
									tainted[id.Name] = src
								}
							}
						}
						return true
					}
					if len(s.Lhs) != len(s.Rhs) {
						return true
					}
					for i, l := range s.Lhs {
						id, ok := l.(*ast.Ident)
						if !ok {
							continue
						}
						if src, ok := taintedPath(s.Rhs[i], imports, tainted); ok {
							tainted[id.Name] = src
						} else if s.Tok == token.ASSIGN {
							delete(tainted, id.Name)
						}
					}
				case *ast.CallExpr:
					p, name := g.PkgFunc(s)
					idx, ok := pathSinks[p][name]
					if !ok {
						return true
					}
					for _, a := range sinkArgs(s, idx) {
						src, ok := taintedPath(a, imports, tainted)
						if !ok {
							continue
						}
						if p == "net/http" && src.urlPath {
							continue // ServeFile itself rejects ".." in r.URL.Path
						}
						from, to, added := addedCall(pass, g, s)
						if !added || reported[from] {
							return true
						}
						reported[from] = true
						sev := axes.SeverityError
						if src.urlPath {
							sev = axes.SeverityWarning
						}
						pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Severity: sev, Message: fmt.Sprintf(
							"%s.%s uses %s from the request, so a value with \"../\" reaches files outside the intended directory (path traversal); open it through os.Root, or check filepath.IsLocal / that the cleaned path stays under the base directory.",
							axes.DefaultImportName(p), name, src.what)})
						return true
					}
				}
				return true
			})
		})
	}
	return nil
}

// pathTaint is request input flowing towards a file path.
type pathTaint struct {
	what    string // how the input is read, for messages
	urlPath bool   // only r.URL.Path, which http.ServeMux cleans
}

// taintedPath reports whether e carries request input that was not reduced
// to a base name.
func taintedPath(e ast.Expr, imports map[string]string, tainted map[string]pathTaint) (pathTaint, bool) {
	if call, ok := e.(*ast.CallExpr); ok {
		p, name := axes.PkgSelector(imports, call.Fun)
		if (p == "path/filepath" || p == "path") && name == "Base" || p == "strconv" {
			return pathTaint{}, false
		}
		if (p == "path/filepath" || p == "path") && name == "Clean" && len(call.Args) == 1 {
			if b, ok := call.Args[0].(*ast.BinaryExpr); ok {
				if s, ok := stringLit(b.X); ok && strings.HasPrefix(s, "/") {
					return pathTaint{}, false // Clean("/"+x) cannot climb above the root
				}
			}
		}
	}
	if src, strong, ok := requestInput(e, imports); ok {
		return pathTaint{what: src, urlPath: !strong}, true
	}
	var found pathTaint
	ok := false
	ast.Inspect(e, func(n ast.Node) bool {
		if call, isCall := n.(*ast.CallExpr); isCall {
			if p, name := axes.PkgSelector(imports, call.Fun); (p == "path/filepath" || p == "path") && name == "Base" || p == "strconv" {
				return false
			}
		}
		if id, isID := n.(*ast.Ident); isID && !ok {
			if t, hit := tainted[id.Name]; hit {
				found, ok = t, true
			}
		}
		return !ok
	})
	return found, ok
}

func runServerNoTimeouts(ctx context.Context, pass *axes.Pass) error {
	for _, g := range pass.ChangedGoFiles(false) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if exampleCode(g.Path) {
			continue // documentation programs, never deployed
		}
		imports := g.Imports()
		axes.FuncBodies(g.AST, func(_ *ast.FuncDecl, body *ast.BlockStmt) {
			setLater := false
			ast.Inspect(body, func(n ast.Node) bool {
				if as, ok := n.(*ast.AssignStmt); ok {
					for _, l := range as.Lhs {
						if sel, ok := l.(*ast.SelectorExpr); ok && (sel.Sel.Name == "ReadHeaderTimeout" || sel.Sel.Name == "ReadTimeout") {
							setLater = true
						}
					}
				}
				return true
			})
			ast.Inspect(body, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CompositeLit:
					sel, ok := x.Type.(*ast.SelectorExpr)
					if !ok || sel.Sel.Name != "Server" {
						return true
					}
					if id, ok := sel.X.(*ast.Ident); !ok || imports[id.Name] != "net/http" || setLater {
						return true
					}
					for _, el := range x.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if k := exprName(kv.Key); k == "ReadHeaderTimeout" || k == "ReadTimeout" {
								return true
							}
						}
					}
					line := g.Line(x.Pos())
					if pass.IsAdded(g.Path, line) {
						pass.Report(axes.Finding{Path: g.Path, Line: line, Message: "This http.Server sets no ReadHeaderTimeout or ReadTimeout, so slow clients can hold connections open indefinitely (Slowloris); set ReadHeaderTimeout and ReadTimeout (and WriteTimeout, IdleTimeout)."})
					}
				case *ast.CallExpr:
					p, name := g.PkgFunc(x)
					if p != "net/http" || (name != "ListenAndServe" && name != "ListenAndServeTLS" && name != "Serve" && name != "ServeTLS") {
						return true
					}
					if from, to, ok := addedCall(pass, g, x); ok {
						pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
							"http.%s uses a server with no timeouts, so slow clients can hold connections open indefinitely (Slowloris); build an http.Server with ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout and call its %s method.", name, name)})
					}
				}
				return true
			})
		})
	}
	return nil
}

// sensitiveName reports whether an identifier names a secret value, as
// opposed to something about a secret (its length, URL, name or hash).
func sensitiveName(n string) bool {
	w := nameWords(n)
	if len(w) == 0 {
		return false
	}
	for _, x := range w {
		switch x {
		case "count", "len", "length", "type", "url", "uri", "name", "id", "ids", "expiry", "expires", "exp", "ttl",
			"path", "file", "filename", "header", "field", "hash", "hashed", "digest", "set", "ok", "valid", "present",
			"source", "kind", "max", "min", "prefix", "endpoint", "env", "policy", "required", "changed", "reset", "hint",
			"rules", "strength", "version", "at", "age", "expired", "err", "error", "store", "manager", "provider", "limit", "mask", "masked", "redacted",
			"must", "should", "need", "needs", "has", "is", "enable", "enabled", "disable", "disabled", "allow", "allowed", "show", "hide",
			"use", "can", "forgot", "change", "expire", "last", "complexity", "validate", "check", "generated", "scope", "scopes":
			return false
		}
	}
	last := w[len(w)-1]
	switch last {
	case "password", "passwd", "pwd", "passphrase", "secret", "token", "apikey", "credentials", "creds", "privatekey", "secretkey":
		return true
	case "key":
		if len(w) >= 2 {
			switch w[len(w)-2] {
			case "api", "private", "secret", "access", "signing", "encryption", "client":
				return true
			}
		}
	}
	return false
}

var logFuncs = map[string]map[string]bool{
	"log": {"Print": true, "Printf": true, "Println": true, "Fatal": true, "Fatalf": true, "Fatalln": true, "Panic": true, "Panicf": true, "Panicln": true},
	"log/slog": {"Info": true, "Debug": true, "Warn": true, "Error": true, "InfoContext": true, "DebugContext": true,
		"WarnContext": true, "ErrorContext": true, "Log": true},
	"fmt": {"Print": true, "Printf": true, "Println": true, "Fprint": true, "Fprintf": true, "Fprintln": true},
}

var logMethods = map[string]bool{
	"Print": true, "Printf": true, "Println": true, "Info": true, "Infof": true, "Infow": true, "Debug": true,
	"Debugf": true, "Debugw": true, "Warn": true, "Warnf": true, "Warnw": true, "Error": true, "Errorf": true,
	"Errorw": true, "Fatal": true, "Fatalf": true, "InfoContext": true, "DebugContext": true, "WarnContext": true,
	"ErrorContext": true, "Log": true, "Logf": true, "Msgf": true, "Str": true,
}

var loggerRecv = regexp.MustCompile(`(?i)^(log|logger|lg|l|slog|zap|sugar|zl|zerolog|entry|event|e)$|log(ger)?$`)

func runSecretInLog(ctx context.Context, pass *axes.Pass) error {
	return inspectCalls(ctx, pass, func(g *axes.GoFile, imports map[string]string, call *ast.CallExpr) {
		p, name := axes.PkgSelector(imports, call.Fun)
		isLog := logFuncs[p][name]
		if p == "fmt" {
			// fmt output of a command is what its user asked for; Fprint*
			// logs only when it writes to the standard streams.
			if commandPackage(g) || strings.HasPrefix(name, "F") && !stdStream(imports, call.Args) {
				return
			}
		}
		if !isLog && p == "" {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && logMethods[sel.Sel.Name] {
				recv := exprName(sel.X)
				if c, ok := sel.X.(*ast.CallExpr); ok {
					recv = exprName(c.Fun)
				}
				isLog = loggerRecv.MatchString(recv)
			}
		}
		if !isLog {
			return
		}
		for i, a := range call.Args {
			n := secretArg(a)
			if n == "" && i > 0 {
				// slog-style key-value pairs: "password", value
				if key, ok := stringLit(call.Args[i-1]); ok && sensitiveName(key) && !isLiteral(a) && !derivedValue(a) {
					n = key
				}
			}
			if n == "" {
				continue
			}
			from, to, ok := addedCall(pass, g, call)
			if !ok {
				return
			}
			pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Message: fmt.Sprintf(
				"This log call writes %s, a secret, into logs that many more people and systems can read; log that it is set, or at most a redacted prefix.", n)})
			return
		}
	})
}

// exampleCode reports whether p is example code: under an example(s)
// directory or a directory the go tool ignores (_examples, .github).
func exampleCode(p string) bool {
	dirs := strings.Split(p, "/")
	for _, d := range dirs[:len(dirs)-1] {
		if d == "example" || d == "examples" || d == "_example" || strings.HasPrefix(d, "_") || strings.HasPrefix(d, ".") {
			return true
		}
	}
	return false
}

// commandPackage reports whether g belongs to a command (package main, or a
// package under cmd/).
func commandPackage(g *axes.GoFile) bool {
	return g.AST.Name.Name == "main" || strings.HasPrefix(g.Path, "cmd/") || strings.Contains(g.Path, "/cmd/")
}

// stdStream reports whether the first argument is os.Stdout or os.Stderr.
func stdStream(imports map[string]string, args []ast.Expr) bool {
	if len(args) == 0 {
		return false
	}
	sel, ok := args[0].(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && imports[id.Name] == "os" && (sel.Sel.Name == "Stdout" || sel.Sel.Name == "Stderr")
}

// sanitizerName matches functions whose result describes a secret without
// revealing it: redaction, masking, hashing, lengths and prefixes.
var sanitizerName = regexp.MustCompile(`(?i)redact|mask|censor|scrub|saniti|obfuscat|elide|truncat|prefix|suffix|hint|fingerprint|hash|digest|sum(\d*)$|^len$|^cap$|^count|^has|^is[A-Z]|^set$`)

// derivedValue reports whether e, logged under a sensitive key, is not the
// secret itself: a comparison or negation (password != ""), or the result of
// a call that redacts, masks, hashes or measures it (redact(key), len(tok)).
// Plain reads (x, s.x, m["k"], string(b), h.Get("Authorization")) stay
// secrets.
func derivedValue(e ast.Expr) bool {
	switch t := e.(type) {
	case *ast.ParenExpr:
		return derivedValue(t.X)
	case *ast.BinaryExpr:
		return true
	case *ast.UnaryExpr:
		return t.Op == token.NOT
	case *ast.CallExpr:
		switch f := t.Fun.(type) {
		case *ast.Ident:
			return sanitizerName.MatchString(f.Name)
		case *ast.SelectorExpr:
			return sanitizerName.MatchString(f.Sel.Name)
		}
	}
	return false
}

func isLiteral(e ast.Expr) bool {
	_, ok := e.(*ast.BasicLit)
	return ok
}

// secretArg returns the name of a secret value passed directly as a log
// argument (x, s.x, string(x), slog.String("k", x)), or "".
func secretArg(a ast.Expr) string {
	if call, ok := a.(*ast.CallExpr); ok {
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && len(call.Args) == 2 {
			switch sel.Sel.Name {
			case "String", "Any", "Str", "Bytes":
				if key, ok := stringLit(call.Args[0]); ok && sensitiveName(key) && !isLiteral(call.Args[1]) && !derivedValue(call.Args[1]) {
					return key
				}
				return secretArg(call.Args[1])
			}
		}
	}
	switch a.(type) {
	case *ast.Ident, *ast.SelectorExpr, *ast.CallExpr, *ast.StarExpr:
		if n := exprName(a); n != "" && sensitiveName(n) {
			if c, ok := a.(*ast.CallExpr); ok {
				if _, conv := c.Fun.(*ast.ArrayType); !conv {
					if id, ok := c.Fun.(*ast.Ident); !ok || id.Name != "string" {
						return ""
					}
				}
			}
			return n
		}
	}
	return ""
}

var permFuncs = map[string]map[string]int{ // index of the permission argument
	"os":        {"WriteFile": 2, "OpenFile": 2, "Mkdir": 1, "MkdirAll": 1, "Chmod": 1, "MkdirTemp": -1},
	"io/ioutil": {"WriteFile": 2},
}

var secretFileName = regexp.MustCompile(`(?i)secret|token|passw|credential|private|\bkey|key\b|Key|\.pem|\.key|id_rsa|id_ed25519`)

func runWorldWritablePerms(ctx context.Context, pass *axes.Pass) error {
	return inspectCalls(ctx, pass, func(g *axes.GoFile, imports map[string]string, call *ast.CallExpr) {
		p, name := axes.PkgSelector(imports, call.Fun)
		idx, ok := permFuncs[p][name]
		if !ok || idx < 0 || idx >= len(call.Args) {
			return
		}
		lit, ok := call.Args[idx].(*ast.BasicLit)
		if !ok || lit.Kind != token.INT {
			return
		}
		mode, err := strconv.ParseInt(strings.ReplaceAll(lit.Value, "_", ""), 0, 64)
		if err != nil {
			return
		}
		isDir := strings.HasPrefix(name, "Mkdir")
		secret := false
		for i, a := range call.Args {
			if i != idx && (mentions(a, secretFileName) || litMatches(a, secretFileName)) {
				secret = true
			}
		}
		var sev axes.Severity
		var msg string
		switch {
		case mode&0o002 != 0 && (name == "Chmod" || mode&0o111 != 0 && !isDir):
			sev = axes.SeverityWarning
			msg = fmt.Sprintf("Mode %s makes this world-writable, so any local user can replace its content; use 0o644 for files and 0o755 for directories, or tighter.", lit.Value)
		case secret && mode&0o077 != 0 && !isDir:
			sev = axes.SeverityWarning
			msg = fmt.Sprintf("This file appears to hold a secret but mode %s lets other users read it; create it with 0o600.", lit.Value)
		case mode&0o002 != 0:
			// Only the umask stands between this mode and a world-writable
			// file; where the umask is 0 (containers, systemd units with
			// UMask=0000) any local user can replace the content.
			sev = axes.SeverityWarning
			msg = fmt.Sprintf("Mode %s asks for a world-writable file or directory, which any local user can modify wherever the umask does not strip it (containers and services often run with umask 0); use 0o644 for files and 0o755 for directories.", lit.Value)
		default:
			return
		}
		from, to, added := addedCall(pass, g, call)
		if !added {
			return
		}
		pass.Report(axes.Finding{Path: g.Path, Line: from, EndLine: to, Severity: sev, Message: msg})
	})
}

func litMatches(e ast.Expr, re *regexp.Regexp) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if s, ok := stringLit(asExpr(n)); ok && re.MatchString(s) {
			found = true
		}
		return !found
	})
	return found
}

func asExpr(n ast.Node) ast.Expr {
	if e, ok := n.(ast.Expr); ok {
		return e
	}
	return nil
}
