package security

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"

	"github.com/fiveaxis/fiveaxis/axes"
)

// HardcodedSecret reports secrets committed in any added file.
var HardcodedSecret = &axes.Checker{
	Name: "security/hardcoded-secret",
	Doc: `Secrets must not be committed. API keys, tokens, passwords and private keys in source, scripts or configuration are readable by everyone with access to the repository and its history, forever; load them from the environment or a secret manager, and rotate any key that was pushed.

Every added line of every changed text file is scanned with gitleaks' default rules, plus private-key headers and high-entropy literals assigned to secret-like names. Placeholders and test keys are not reported as errors. Messages show only a redacted prefix.`,
	Axis:     axes.Security,
	Severity: axes.SeverityError,
	Run:      runHardcodedSecret,
}

// maxSecretScanBytes bounds the size of a file scanned for secrets.
const maxSecretScanBytes = 2 << 20

var (
	detectorOnce sync.Once
	detectorMu   sync.Mutex // serialises scans: the detector is shared
	detector     *detect.Detector
	detectorErr  error
)

// sharedDetector builds gitleaks' default detector once; building it
// compiles a few hundred regular expressions.
func sharedDetector() (*detect.Detector, error) {
	detectorOnce.Do(func() {
		logging.Logger = logging.Logger.Level(zerolog.Disabled)
		detector, detectorErr = detect.NewDetectorDefaultConfig()
		if detectorErr != nil {
			detectorErr = fmt.Errorf("gitleaks default config: %w", detectorErr)
		}
	})
	return detector, detectorErr
}

var (
	privateKeyHeader = regexp.MustCompile(`-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----`)
	secretAssign     = regexp.MustCompile(`(?i)([a-z0-9_.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|signing[_-]?key|client[_-]?secret|auth[_-]?key)[a-z0-9_-]*)["']?\s*(?::=|=|:|=>)\s*["'\x60]([^"'\x60\s]{8,})["'\x60]`)
	placeholder      = regexp.MustCompile(`(?i)example|xxxx|\*\*\*|changeme|change[_-]?me|your|placeholder|dummy|fake|sample|redacted|not[_-]?a[_-]?real|notreal|insert|replace|todo|<|>|\$\{|\{\{|%s|\$[A-Z_]|^\$|env\.|process\.env|os\.getenv|secrets\.|none|null|undefined`)
	envVarName       = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)
	lockFiles        = map[string]bool{"go.sum": true, "package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true, "Cargo.lock": true, "poetry.lock": true, "Gemfile.lock": true, "composer.lock": true}
)

// redact shows the first four characters of a secret.
func redact(s string) string {
	r := []rune(s)
	if len(r) > 4 {
		r = r[:4]
	}
	return string(r) + "…"
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	var h float64
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// fixturePath reports whether p holds tests or fixtures, where sample
// secrets are expected.
func fixturePath(p string) bool {
	lp := strings.ToLower(p)
	return strings.HasSuffix(lp, "_test.go") || strings.Contains("/"+lp, "/testdata/") || strings.Contains("/"+lp, "/fixtures/") ||
		strings.Contains(lp, ".test.") || strings.Contains(lp, ".spec.") || strings.Contains("/"+lp, "/test/") || strings.Contains("/"+lp, "/tests/") ||
		strings.HasPrefix(path.Base(lp), "test_") || strings.Contains(lp, "example") ||
		strings.HasSuffix(lp, ".txtar") // test archives (golang.org/x/tools/txtar)
}

// credentialURL matches a URL with a user and password:
// postgres://user:password@host.
var credentialURL = regexp.MustCompile(`\b[a-zA-Z][a-zA-Z0-9+.-]{1,15}://([^\s:/@'"]+):([^\s@/'"]+)@([^\s/:'"?,;]+)`)

// weakDevPasswords are the passwords of local development setups.
var weakDevPasswords = map[string]bool{"password": true, "pass": true, "secret": true, "postgres": true, "root": true,
	"admin": true, "test": true, "dev": true, "guest": true, "mysql": true, "redis": true, "example": true}

// urlPassword returns the password of a connection URL on line when it
// looks real: not a placeholder or variable, not a stock development
// password, and for a host that is not local (localhost, a loopback
// address, or a one-word service name of a compose network).
func urlPassword(line string) (string, bool) {
	for _, m := range credentialURL.FindAllStringSubmatch(line, -1) {
		user, pw, host := m[1], m[2], strings.ToLower(m[3])
		if len(pw) < 6 || pw == user || weakDevPasswords[strings.ToLower(pw)] || placeholder.MatchString(pw) ||
			strings.ContainsAny(pw[:1], "$%{<[") {
			continue
		}
		if host == "localhost" || strings.HasPrefix(host, "127.") || host == "0.0.0.0" || host == "host.docker.internal" ||
			!strings.Contains(host, ".") {
			continue
		}
		return pw, true
	}
	return "", false
}

type secretHit struct {
	line   int
	kind   string
	secret string
	sev    axes.Severity
}

func runHardcodedSecret(ctx context.Context, pass *axes.Pass) error {
	d, err := sharedDetector()
	if err != nil {
		return err
	}
	start := time.Now()
	for _, fd := range pass.ChangedFiles() {
		if outOfTime(ctx, start) {
			return nil // keep what was found; the rest of a huge PR goes unscanned
		}
		if fd.Binary || len(fd.Added) == 0 || lockFiles[path.Base(fd.NewPath)] || strings.HasSuffix(fd.NewPath, ".min.js") {
			continue
		}
		data := pass.ReadHeadFile(fd.NewPath)
		if data == nil || len(data) > maxSecretScanBytes || bytes.IndexByte(data, 0) >= 0 {
			continue
		}
		hits := map[int]secretHit{}
		add := func(h secretHit) {
			if !pass.IsAdded(fd.NewPath, h.line) {
				return
			}
			if old, ok := hits[h.line]; ok && old.sev.Rank() >= h.sev.Rank() {
				return
			}
			hits[h.line] = h
		}
		fixture := fixturePath(fd.NewPath)
		detectorMu.Lock()
		found := d.DetectContext(ctx, detect.Fragment{Raw: addedOnly(data, func(n int) bool { return pass.IsAdded(fd.NewPath, n) }), FilePath: fd.NewPath})
		detectorMu.Unlock()
		for _, f := range found {
			secret := strings.TrimSpace(f.Secret)
			if secret == "" || placeholder.MatchString(secret) {
				continue
			}
			sev := axes.SeverityError
			generic := f.RuleID == "generic-api-key" || f.RuleID == "jwt" || strings.Contains(f.RuleID, "generic")
			testMode := strings.Contains(strings.ToLower(secret), "test")
			switch {
			case fixture && (generic || testMode):
				sev = axes.SeverityInfo // sample or test-mode tokens (sk_test_…) in tests and fixtures
			case fixture || testMode:
				sev = axes.SeverityWarning
			}
			add(secretHit{line: f.StartLine + 1, kind: "A secret matching gitleaks rule " + f.RuleID, secret: secret, sev: sev})
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), maxSecretScanBytes)
		for n := 1; sc.Scan(); n++ {
			if !pass.IsAdded(fd.NewPath, n) {
				continue
			}
			line := sc.Text()
			if m := privateKeyHeader.FindString(line); m != "" {
				sev := axes.SeverityError
				if fixture {
					sev = axes.SeverityWarning
				}
				add(secretHit{line: n, kind: "A private key", secret: m[:10], sev: sev})
				continue
			}
			if fixture {
				continue
			}
			if pw, ok := urlPassword(line); ok {
				add(secretHit{line: n, kind: "A password in a connection URL", secret: pw, sev: axes.SeverityError})
				continue
			}
			for _, m := range secretAssign.FindAllStringSubmatch(line, -1) {
				if h, ok := judgeAssignedSecret(m[1], m[2]); ok {
					h.line = n
					add(h)
				}
			}
		}
		for _, h := range sortedHits(hits) {
			pass.Report(axes.Finding{Path: fd.NewPath, Line: h.line, Severity: h.sev, Message: fmt.Sprintf(
				"%s (%s) is committed in the repository, where everyone with access to it and its history can read it; load it from the environment or a secret manager, and rotate it now that it has been pushed.",
				h.kind, redact(h.secret))})
		}
	}
	return nil
}

// addedOnly blanks the lines of data that were not added, keeping line
// numbers, so that only the pull request's own lines are scanned.
func addedOnly(data []byte, added func(int) bool) string {
	lines := strings.Split(string(data), "\n")
	for i := range lines {
		if !added(i + 1) {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// judgeAssignedSecret decides whether a literal assigned to a secret-like
// name is a real secret.
func judgeAssignedSecret(name, value string) (secretHit, bool) {
	if !sensitiveName(strings.Trim(name, `"'.`)) || placeholder.MatchString(value) || envVarName.MatchString(value) {
		return secretHit{}, false
	}
	lv := strings.ToLower(value)
	for _, w := range nameWords(name) {
		if len(w) > 3 && strings.Contains(lv, w) {
			return secretHit{}, false // "password_confirmation", "api-key-header"
		}
	}
	if strings.ContainsAny(value, "/\\") && !strings.ContainsAny(value, "+=") || strings.HasPrefix(value, "http") {
		return secretHit{}, false // a path or URL, not a secret
	}
	h := entropy(value)
	words := nameWords(name)
	isPassword := false
	switch words[len(words)-1] {
	case "password", "passwd", "pwd", "passphrase":
		isPassword = true
	}
	switch {
	case len(value) >= 16 && h >= 3.5:
		return secretHit{kind: "A secret assigned to " + name, secret: value, sev: axes.SeverityError}, true
	case isPassword && len(value) >= 8 && h >= 2.5:
		return secretHit{kind: "A password assigned to " + name, secret: value, sev: axes.SeverityWarning}, true
	}
	return secretHit{}, false
}

func sortedHits(m map[int]secretHit) []secretHit {
	out := make([]secretHit, 0, len(m))
	for _, h := range m {
		out = append(out, h)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].line < out[j-1].line; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
