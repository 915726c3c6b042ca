package analyzers

import (
	"testing"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
)

func TestClass(t *testing.T) {
	tests := []struct{ rule, want string }{
		{"correctness/lost-cancel", "lost-cancel"},
		{"correctness/vet-lostcancel", "lost-cancel"},
		{"security/sql-injection", "sql-injection"},
		{"security/gosec-g201", ""}, // left out: see gosecKept
		{"security/gosec-g701", "sql-injection"},
		{"correctness/vet-printf", ""},
		{"readability/missing-doc", ""},
	}
	for _, tt := range tests {
		if got := Class(tt.rule); got != tt.want {
			t.Errorf("Class(%q) = %q, want %q", tt.rule, got, tt.want)
		}
	}
}

func TestDedupe(t *testing.T) {
	ast := func(rule string, line int, sev axes.Severity) axes.Finding {
		return axes.Finding{Rule: rule, Path: "a.go", Line: line, Severity: sev, Source: axes.SourceHeuristic}
	}
	an := func(rule string, line int, sev axes.Severity) axes.Finding {
		return axes.Finding{Rule: rule, Path: "a.go", Line: line, Severity: sev, Source: axes.SourceAnalyzer}
	}
	tests := []struct {
		name string
		in   []axes.Finding
		want []string
	}{
		{"AST rule kept over analyzer", []axes.Finding{
			an("security/gosec-g701", 13, axes.SeverityError),
			ast("security/sql-injection", 13, axes.SeverityError),
			an("security/gosec-g701", 15, axes.SeverityError),
		}, []string{"a.go:13 security/sql-injection"}},
		{"more severe analyzer kept", []axes.Finding{
			ast("correctness/lost-cancel", 5, axes.SeverityWarning),
			an("correctness/vet-lostcancel", 5, axes.SeverityError),
		}, []string{"a.go:5 correctness/vet-lostcancel"}},
		{"far apart both kept", []axes.Finding{
			ast("correctness/lost-cancel", 5, axes.SeverityError),
			an("correctness/vet-lostcancel", 40, axes.SeverityError),
		}, []string{"a.go:40 correctness/vet-lostcancel", "a.go:5 correctness/lost-cancel"}},
		{"taint sink below the built statement", []axes.Finding{
			ast("security/sql-injection", 14, axes.SeverityError),
			an("security/gosec-g701", 22, axes.SeverityError),
		}, []string{"a.go:14 security/sql-injection"}},
		{"two AST findings are two problems", []axes.Finding{
			ast("security/sql-injection", 10, axes.SeverityError),
			ast("security/sql-injection", 12, axes.SeverityError),
		}, []string{"a.go:10 security/sql-injection", "a.go:12 security/sql-injection"}},
		{"other classes kept", []axes.Finding{
			ast("correctness/lost-cancel", 5, axes.SeverityError),
			an("correctness/vet-printf", 5, axes.SeverityWarning),
		}, []string{"a.go:5 correctness/lost-cancel", "a.go:5 correctness/vet-printf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := axestest.Format(Dedupe(tt.in))
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}
