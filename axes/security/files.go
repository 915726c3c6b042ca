package security

import (
	"bufio"
	"bytes"
	"context"
	"path"
	"regexp"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// CurlPipeShell reports scripts that pipe a download into a shell.
var CurlPipeShell = &axes.Checker{
	Name:     "security/curl-pipe-shell",
	Doc:      `Downloaded scripts must not be piped straight into a shell. curl ... | sh runs whatever the server (or anyone who can tamper with the download) sends, unreviewed and unpinned; download a pinned version, verify its checksum or signature, then run it. Markdown documentation is not checked.`,
	Axis:     axes.Security,
	Severity: axes.SeverityWarning,
	Run:      runCurlPipeShell,
}

// UnsafeRm reports rm -rf on unquoted or unchecked variables.
var UnsafeRm = &axes.Checker{
	Name:     "security/unsafe-rm",
	Doc:      `rm -rf must not run on an unquoted or unchecked variable. When the variable is empty or contains spaces, rm -rf $DIR/ or rm -rf $DIR deletes the wrong tree, up to the whole file system; quote it and fail on empty values: rm -rf -- "${DIR:?}/".`,
	Axis:     axes.Security,
	Severity: axes.SeverityWarning,
	Run:      runUnsafeRm,
}

// DockerRoot reports container images whose final stage runs as root.
var DockerRoot = &axes.Checker{
	Name:     "security/docker-root",
	Doc:      `Container images should not run as root. Without a USER instruction in the final stage (or with USER root), a compromise of the process is root in the container, one kernel bug away from the host; add a non-root USER (for example USER 65532:65532) after installing packages.`,
	Axis:     axes.Security,
	Severity: axes.SeverityWarning,
	Run:      runDockerRoot,
}

// PrivilegedContainer reports privileged containers in manifests and scripts.
var PrivilegedContainer = &axes.Checker{
	Name:     "security/privileged-container",
	Doc:      `Containers should not run privileged. privileged: true, allowPrivilegeEscalation: true, host namespaces and docker run --privileged give the container the host's devices and kernel capabilities, so escaping it is trivial; grant only the specific capabilities needed.`,
	Axis:     axes.Security,
	Severity: axes.SeverityWarning,
	Run:      runPrivilegedContainer,
}

var (
	curlPipe   = regexp.MustCompile(`\b(curl|wget)\b[^|#]*\|\s*(sudo\s+(-\S+\s+)*)?(ba|z|da|k)?sh\b`)
	rmVar      = regexp.MustCompile(`\brm\s+(-[a-zA-Z]*[rR][a-zA-Z]*\s+)+(--\s+)?("?)\$(\{?)([A-Za-z_][A-Za-z0-9_]*)(:[?-][^}]*)?\}?("?)([^\s'";|&)\x60]*)`)
	privileged = regexp.MustCompile(`^\s*-?\s*(privileged|allowPrivilegeEscalation|hostPID|hostIPC|hostNetwork)\s*:\s*["']?true["']?\s*(#.*)?$`)
	runAsRoot  = regexp.MustCompile(`^\s*runAsUser\s*:\s*0\s*(#.*)?$`)
	dockerPriv = regexp.MustCompile(`\bdocker\s+(run|create)\b.*\s--privileged\b`)
	userLine   = regexp.MustCompile(`(?i)^\s*USER\s+(\S+)`)
)

// shellish reports whether p is a file that holds shell commands.
func shellish(p string) bool {
	b := strings.ToLower(path.Base(p))
	switch path.Ext(b) {
	case ".sh", ".bash", ".zsh", ".ksh", ".yml", ".yaml", ".mk", ".bats", ".envrc":
		return true
	}
	return b == "makefile" || b == "gnumakefile" || b == "justfile" || b == "taskfile" || isDockerfile(p) || b == "jenkinsfile" || b == ".envrc"
}

func isDockerfile(p string) bool {
	b := strings.ToLower(path.Base(p))
	return b == "dockerfile" || b == "containerfile" || strings.HasPrefix(b, "dockerfile.") || strings.HasSuffix(b, ".dockerfile")
}

// eachAddedLine calls fn for each added line of the changed files that match.
func eachAddedLine(ctx context.Context, pass *axes.Pass, match func(string) bool, fn func(p string, n int, line string)) error {
	for _, fd := range pass.ChangedFiles() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fd.Binary || len(fd.Added) == 0 || !match(fd.NewPath) {
			continue
		}
		data := pass.ReadHeadFile(fd.NewPath)
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for n := 1; sc.Scan(); n++ {
			if pass.IsAdded(fd.NewPath, n) {
				fn(fd.NewPath, n, sc.Text())
			}
		}
	}
	return nil
}

// uncomment drops a trailing shell comment.
func uncomment(line string) string {
	t := strings.TrimSpace(line)
	if strings.HasPrefix(t, "#") {
		return ""
	}
	if i := strings.Index(line, " #"); i >= 0 {
		return line[:i]
	}
	return line
}

func runCurlPipeShell(ctx context.Context, pass *axes.Pass) error {
	return eachAddedLine(ctx, pass, shellish, func(p string, n int, line string) {
		if curlPipe.MatchString(uncomment(line)) {
			pass.Report(axes.Finding{Path: p, Line: n, Message: "This pipes a download straight into a shell, running whatever the server sends without review or pinning; download a pinned release, verify its checksum, then run it."})
		}
	})
}

func runUnsafeRm(ctx context.Context, pass *axes.Pass) error {
	return eachAddedLine(ctx, pass, shellish, func(p string, n int, line string) {
		for _, m := range rmVar.FindAllStringSubmatch(uncomment(line), -1) {
			quoted := m[3] == `"` && m[7] == `"`
			guarded := strings.HasPrefix(m[6], ":?")
			rest := m[8]
			switch {
			case guarded:
				continue
			case quoted && rest == "":
				continue // rm -rf "$DIR": an empty value deletes nothing
			}
			msg := "rm -rf on an unquoted variable deletes the wrong files when it is empty or contains spaces; quote it and fail on empty values: rm -rf -- \"${" + m[5] + ":?}\"."
			if quoted {
				msg = "rm -rf \"$" + m[5] + "\"" + rest + " deletes from the root when the variable is empty; fail on empty values with \"${" + m[5] + ":?}\"" + rest + "."
			}
			pass.Report(axes.Finding{Path: p, Line: n, Message: msg, Suggestion: rmSuggestion(line)})
			return
		}
	})
}

// rmSuggestion rewrites the first unguarded variable of an rm -rf on line to
// "${NAME:?}", which makes the shell fail instead of deleting from the root
// when the variable is empty. It returns "" when the line is not simple.
func rmSuggestion(line string) string {
	code := uncomment(line)
	if !strings.HasPrefix(line, code) {
		return ""
	}
	m := rmVar.FindStringSubmatchIndex(code)
	if m == nil || m[6] < 0 || m[15] < 0 {
		return ""
	}
	name := code[m[10]:m[11]]
	start, end := m[6], m[15] // from the opening quote (if any) to the closing one
	return line[:start] + `"${` + name + `:?}"` + line[end:]
}

func runDockerRoot(ctx context.Context, pass *axes.Pass) error {
	for _, fd := range pass.ChangedFiles() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fd.Binary || len(fd.Added) == 0 || !isDockerfile(fd.NewPath) {
			continue
		}
		data := pass.ReadHeadFile(fd.NewPath)
		fromLine, userAt, user := 0, 0, ""
		image := ""
		sc := bufio.NewScanner(bytes.NewReader(data))
		for n := 1; sc.Scan(); n++ {
			t := strings.TrimSpace(sc.Text())
			f := strings.Fields(t)
			if len(f) >= 2 && strings.EqualFold(f[0], "FROM") {
				fromLine, userAt, user = n, 0, ""
				image = f[1]
				if strings.HasPrefix(image, "--platform") && len(f) >= 3 {
					image = f[2]
				}
				continue
			}
			if m := userLine.FindStringSubmatch(t); m != nil {
				userAt, user = n, m[1]
			}
		}
		if fromLine == 0 {
			continue
		}
		root := user == "root" || user == "0" || strings.HasPrefix(user, "0:") || strings.HasPrefix(user, "root:")
		switch {
		case userAt > 0 && root && pass.IsAdded(fd.NewPath, userAt):
			pass.Report(axes.Finding{Path: fd.NewPath, Line: userAt, Message: "The image's final stage runs as root, so a compromised process has root in the container; switch to a non-root USER after the steps that need root."})
		case userAt == 0 && !strings.Contains(image, "nonroot") && !strings.EqualFold(image, "scratch") && pass.IsAdded(fd.NewPath, fromLine):
			pass.Report(axes.Finding{Path: fd.NewPath, Line: fromLine, Message: "The final stage of this image has no USER instruction, so the container runs as root; add a non-root USER (for example USER 65532:65532) after installing packages."})
		}
	}
	return nil
}

func runPrivilegedContainer(ctx context.Context, pass *axes.Pass) error {
	match := func(p string) bool { return shellish(p) }
	return eachAddedLine(ctx, pass, match, func(p string, n int, line string) {
		ext := strings.ToLower(path.Ext(p))
		yaml := ext == ".yml" || ext == ".yaml"
		switch {
		case yaml && privileged.MatchString(line):
			key := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "-"))
			key = key[:strings.Index(key, ":")]
			pass.Report(axes.Finding{Path: p, Line: n, Message: key + ": true gives the container host-level access, so escaping it is trivial; drop it and add only the capabilities the workload needs."})
		case yaml && runAsRoot.MatchString(line):
			pass.Report(axes.Finding{Path: p, Line: n, Message: "runAsUser: 0 runs the container as root; run as a non-root user and set runAsNonRoot: true."})
		case dockerPriv.MatchString(uncomment(line)):
			pass.Report(axes.Finding{Path: p, Line: n, Message: "docker run --privileged gives the container the host's devices and capabilities; grant only the specific capabilities needed with --cap-add."})
		}
	})
}
