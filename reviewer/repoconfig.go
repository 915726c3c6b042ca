package reviewer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

// DefaultIgnore are the paths whose findings are dropped unless a repository
// sets include_defaults: false: vendored code, test data and generated
// protobuf/mock files. (Go files marked "Code generated ... DO NOT EDIT." are
// skipped by the checkers themselves.)
var DefaultIgnore = []string{"vendor/**", "testdata/**", "third_party/**", "node_modules/**", "*.pb.go", "*_gen.go", "mock_*.go"}

// RepoConfig is a repository's .fiveaxis.yml. It is read from the target
// branch, so a PR cannot switch off its own checks.
type RepoConfig struct {
	// Enable, when set, lists the only rules that run ("axis/rule", "axis/*"
	// or an axis name).
	Enable []string `yaml:"enable"`
	// Disable lists rules that do not run (same patterns).
	Disable []string `yaml:"disable"`
	// Severity overrides a rule's severity: error, warning or info.
	Severity map[string]axes.Severity `yaml:"severity"`
	// Ignore lists path patterns whose findings are dropped ("dir/**" for a
	// tree, a pattern without a slash matches base names).
	Ignore []string `yaml:"ignore"`
	// IgnoreDefaults, when false, turns off DefaultIgnore. Default true.
	IgnoreDefaults *bool `yaml:"ignore_defaults"`
	// Settings holds thresholds and layer rules.
	axes.Settings `yaml:",inline"`
}

func (c *RepoConfig) ignorePatterns() []string {
	if c.IgnoreDefaults != nil && !*c.IgnoreDefaults {
		return c.Ignore
	}
	return append(append([]string(nil), DefaultIgnore...), c.Ignore...)
}

// ParseRepoConfig parses and validates a .fiveaxis.yml. Errors name the line.
func ParseRepoConfig(data []byte) (*RepoConfig, error) {
	c := &RepoConfig{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", RepoConfigPath, err)
	}
	var root yaml.Node
	// The same bytes decoded above; the node tree only supplies line numbers.
	_ = yaml.Unmarshal(data, &root)
	line := func(key string) int { return keyLine(&root, key) }
	for rule, sev := range c.Severity {
		if sev.Rank() == 0 {
			return nil, fmt.Errorf("%s: line %d: severity of %q: %q is not error, warning or info", RepoConfigPath, line("severity"), rule, sev)
		}
	}
	for _, list := range [][]string{c.Enable, c.Disable} {
		for _, p := range list {
			if axis, _, _ := strings.Cut(p, "/"); !axes.Axis(axis).Valid() {
				return nil, fmt.Errorf("%s: line %d: rule %q: unknown axis %q", RepoConfigPath, line("disable")+line("enable"), p, axis)
			}
		}
	}
	for name, v := range map[string]int{"max_func_lines": c.MaxFuncLines, "max_nesting": c.MaxNesting, "max_pr_lines": c.MaxPRLines, "max_pr_files": c.MaxPRFiles} {
		if v < 0 {
			return nil, fmt.Errorf("%s: line %d: %s must not be negative", RepoConfigPath, line(name), name)
		}
	}
	for i, l := range c.Layers {
		if l.From == "" || len(l.Deny) == 0 {
			return nil, fmt.Errorf("%s: line %d: layers[%d] needs from and deny", RepoConfigPath, line("layers"), i)
		}
	}
	return c, nil
}

// keyLine returns the line of a top-level key, or 0.
func keyLine(root *yaml.Node, key string) int {
	if root == nil || len(root.Content) == 0 {
		return 0
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 0
}

// LoadRepoConfig reads .fiveaxis.yml from tree; a missing file means the
// defaults.
func LoadRepoConfig(tree axes.Tree) (*RepoConfig, error) {
	data, err := tree.ReadFile(RepoConfigPath)
	if errors.Is(err, gitops.ErrNotExist) {
		return &RepoConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", RepoConfigPath, err)
	}
	return ParseRepoConfig(data)
}
