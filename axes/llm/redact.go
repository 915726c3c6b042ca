package llm

import (
	"fmt"
	"math"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
)

// Redacted replaces every secret removed from text sent to the model.
const Redacted = "[REDACTED]"

// Redactor removes secrets from text before it leaves the process: gitleaks
// hits (its default rule set), PEM private-key blocks and high-entropy
// tokens. Whole files that must never be sent (.env files) are recognized by
// IsEnvFile. It is safe for concurrent use.
type Redactor struct {
	mu  sync.Mutex // gitleaks' detector is not documented as concurrency-safe
	det *detect.Detector
}

// NewRedactor builds the gitleaks detector from its default configuration,
// with a private viper instance (the package-level viper is global state).
func NewRedactor() (*Redactor, error) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(config.DefaultConfig)); err != nil {
		return nil, fmt.Errorf("gitleaks config: %w", err)
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return nil, fmt.Errorf("gitleaks config: %w", err)
	}
	cfg, err := vc.Translate()
	if err != nil {
		return nil, fmt.Errorf("gitleaks config: %w", err)
	}
	return &Redactor{det: detect.NewDetector(cfg)}, nil
}

var (
	pemBegin   = regexp.MustCompile(`-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----`)
	pemEnd     = regexp.MustCompile(`-----END[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----`)
	tokenLike  = regexp.MustCompile(`[A-Za-z0-9_\-+/=]{20,}`)
	hasDigit   = regexp.MustCompile(`[0-9]`)
	hasLetter  = regexp.MustCompile(`[A-Za-z]`)
	minEntropy = 4.0
)

// Redact returns text with secrets replaced by Redacted, and how many were
// replaced. Line structure is kept, so line numbers in a formatted hunk stay
// valid.
func (r *Redactor) Redact(text string) (string, int) {
	n := 0
	// PEM private keys: everything from BEGIN to END, line by line.
	lines := strings.Split(text, "\n")
	inKey := false
	for i, l := range lines {
		switch {
		case pemBegin.MatchString(l):
			lines[i] = pemBegin.ReplaceAllString(l, Redacted)
			if !pemEnd.MatchString(l) {
				inKey = true
			}
			n++
		case inKey:
			if loc := pemEnd.FindStringIndex(l); loc != nil {
				inKey = false
				lines[i] = keepPrefix(l) + Redacted
			} else {
				lines[i] = keepPrefix(l) + Redacted
			}
		}
	}
	text = strings.Join(lines, "\n")

	// gitleaks' rules.
	r.mu.Lock()
	found := r.det.DetectString(text)
	r.mu.Unlock()
	var secrets []string
	for _, f := range found {
		s := f.Secret
		if s == "" {
			s = f.Match
		}
		if len(s) >= 4 {
			secrets = append(secrets, s)
		}
	}
	// Longest first, so that a secret containing another is removed whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, s := range secrets {
		if c := strings.Count(text, s); c > 0 {
			text = strings.ReplaceAll(text, s, Redacted)
			n += c
		}
	}

	// High-entropy tokens the rules do not know.
	text = tokenLike.ReplaceAllStringFunc(text, func(tok string) string {
		if strings.Contains(tok, Redacted[1:len(Redacted)-1]) || !hasDigit.MatchString(tok) || !hasLetter.MatchString(tok) {
			return tok
		}
		if entropy(tok) < minEntropy {
			return tok
		}
		n++
		return Redacted
	})
	return text, n
}

// keepPrefix keeps the line-number column of a line formatted by
// prompts.FormatHunk ("   12 + "), so that a redacted line still has its
// number.
func keepPrefix(l string) string {
	if len(l) >= 8 && (l[6] == '+' || l[6] == ' ' || l[6] == '-') && l[5] == ' ' && l[7] == ' ' {
		return l[:8]
	}
	return ""
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	counts := map[rune]int{}
	for _, r := range s {
		counts[r]++
	}
	var h float64
	n := float64(len([]rune(s)))
	for _, c := range counts {
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	return h
}

// IsEnvFile reports whether p is a dotenv file (.env, .env.local, prod.env),
// whose content is never sent. Examples such as .env.example are sent,
// redacted.
func IsEnvFile(p string) bool {
	base := path.Base(p)
	if strings.HasSuffix(base, ".example") || strings.HasSuffix(base, ".sample") || strings.HasSuffix(base, ".template") {
		return false
	}
	return base == ".env" || strings.HasPrefix(base, ".env.") || strings.HasSuffix(base, ".env")
}
