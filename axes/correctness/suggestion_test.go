package correctness_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
	"github.com/fiveaxis/fiveaxis/axes/correctness"
)

func TestLostCancelSuggestion(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"discarded", "\tctx, _ := context.WithTimeout(parent, time.Second)\n\treturn ping(ctx)\n",
			"\tctx, cancel := context.WithTimeout(parent, time.Second)\n\tdefer cancel()"},
		{"name taken", "\tcancel := 1\n\t_ = cancel\n\tctx, _ := context.WithTimeout(parent, time.Second)\n\treturn ping(ctx)\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package p\n\nimport (\n\t\"context\"\n\t\"time\"\n)\n\nfunc ping(ctx context.Context) error { return ctx.Err() }\n\n" +
				"// Check pings.\nfunc Check(parent context.Context) error {\n" + tt.body + "}\n"
			r := axestest.Build(t, &axestest.Case{
				Base: map[string][]byte{"go.mod": []byte("module example.com/p\n\ngo 1.22\n")},
				Head: map[string][]byte{"p/p.go": []byte(src)},
			})
			res, err := axes.Run(context.Background(), []*axes.Checker{correctness.LostCancel}, r.Input, axes.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Findings) != 1 {
				t.Fatalf("findings = %v", res.Findings)
			}
			if got := res.Findings[0].Suggestion; got != tt.want {
				t.Errorf("suggestion = %q, want %q", got, tt.want)
			}
		})
	}
}

// suggestionOf runs checker on a head file and returns the suggestion of
// its single finding.
func suggestionOf(t *testing.T, checker *axes.Checker, src string) string {
	t.Helper()
	r := axestest.Build(t, &axestest.Case{
		Base: map[string][]byte{"go.mod": []byte("module example.com/p\n\ngo 1.22\n")},
		Head: map[string][]byte{"p/p.go": []byte(src)},
	})
	res, err := axes.Run(context.Background(), []*axes.Checker{checker}, r.Input, axes.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 {
		t.Fatalf("findings = %v", res.Findings)
	}
	f := res.Findings[0]
	if f.Suggestion != "" {
		// A suggestion replaces the finding's lines: it must start with them.
		// A defer-close fix keeps the lines and adds one; others rewrite
		// them, keeping their indentation.
		lo, hi := f.Span()
		lines := strings.Split(src, "\n")
		orig := strings.Join(lines[lo-1:hi], "\n")
		if strings.Contains(f.Suggestion, "defer ") && !strings.HasPrefix(f.Suggestion, orig+"\n") {
			t.Errorf("suggestion does not keep lines %d-%d:\n%s\nvs\n%s", lo, hi, f.Suggestion, orig)
		}
		if got := strings.Count(f.Suggestion, "\n") + 1; got < hi-lo+1 {
			t.Errorf("suggestion has %d lines for a finding on %d", got, hi-lo+1)
		}
	}
	return f.Suggestion
}

func TestDeferCloseSuggestions(t *testing.T) {
	const httpHead = "package p\n\nimport (\n\t\"io\"\n\t\"net/http\"\n)\n\n// Fetch fetches.\nfunc Fetch(url string) ([]byte, error) {\n"
	tests := []struct {
		name    string
		checker *axes.Checker
		src     string
		want    string
	}{
		{"body after check", correctness.HTTPBodyNotClosed,
			httpHead + "\tresp, err := http.Get(url)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn io.ReadAll(resp.Body)\n}\n",
			"\tresp, err := http.Get(url)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tdefer resp.Body.Close()"},
		{"body without check", correctness.HTTPBodyNotClosed,
			httpHead + "\tresp, _ := http.Get(url)\n\treturn io.ReadAll(resp.Body)\n}\n", ""},
		{"body check with else", correctness.HTTPBodyNotClosed,
			httpHead + "\tresp, err := http.Get(url)\n\tif err != nil {\n\t\treturn nil, err\n\t} else {\n\t\turl = \"\"\n\t}\n\treturn io.ReadAll(resp.Body)\n}\n", ""},
		{"body in a loop", correctness.HTTPBodyNotClosed,
			httpHead + "\tvar out []byte\n\tfor range 3 {\n\t\tresp, err := http.Get(url)\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\tb, _ := io.ReadAll(resp.Body)\n\t\tout = append(out, b...)\n\t}\n\treturn out, nil\n}\n", ""},
		{"body in a func literal in a loop", correctness.HTTPBodyNotClosed,
			httpHead + "\tvar out []byte\n\tfor range 3 {\n\t\tfunc() {\n\t\t\tresp, err := http.Get(url)\n\t\t\tif err != nil {\n\t\t\t\treturn\n\t\t\t}\n\t\t\tb, _ := io.ReadAll(resp.Body)\n\t\t\tout = append(out, b...)\n\t\t}()\n\t}\n\treturn out, nil\n}\n",
			"\t\t\tresp, err := http.Get(url)\n\t\t\tif err != nil {\n\t\t\t\treturn\n\t\t\t}\n\t\t\tdefer resp.Body.Close()"},
		{"rows", correctness.SQLRowsNotClosed,
			"package p\n\nimport \"database/sql\"\n\n// Names lists names.\nfunc Names(db *sql.DB) ([]string, error) {\n\trows, err := db.Query(\"SELECT name FROM t\")\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tvar out []string\n\tfor rows.Next() {\n\t\tvar n string\n\t\tif err := rows.Scan(&n); err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\tout = append(out, n)\n\t}\n\treturn out, rows.Err()\n}\n",
			"\trows, err := db.Query(\"SELECT name FROM t\")\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tdefer rows.Close()"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suggestionOf(t, tt.checker, tt.src); got != tt.want {
				t.Errorf("suggestion = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNilErrorAndWaitGroupSuggestions(t *testing.T) {
	const load = "package p\n\nimport \"os\"\n\n// Load reads a file.\nfunc Load(p string) ([]byte, error) {\n"
	const fan = "package p\n\nimport \"sync\"\n\n// Fan runs work concurrently.\nfunc Fan(work []func()) {\n\tvar wg sync.WaitGroup\n\tfor _, w := range work {\n"
	tests := []struct {
		name    string
		checker *axes.Checker
		src     string
		want    string
	}{
		{"nil returned", correctness.NilErrorAfterCheck,
			load + "\tb, err := os.ReadFile(p)\n\tif err != nil {\n\t\treturn nil, nil\n\t}\n\treturn b, nil\n}\n",
			"\t\treturn nil, err"},
		{"other error returned", correctness.NilErrorAfterCheck,
			load + "\tb, err := os.ReadFile(p)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tinfo, err2 := os.Stat(p)\n\tif err2 != nil {\n\t\treturn nil, err\n\t}\n\treturn b[:info.Size()], nil\n}\n",
			"\t\treturn nil, err2"},
		{"multi-line return", correctness.NilErrorAfterCheck,
			load + "\tb, err := os.ReadFile(p)\n\tif err != nil {\n\t\treturn nil,\n\t\t\tnil\n\t}\n\treturn b, nil\n}\n",
			""},
		{"add first in goroutine", correctness.WGAddInGoroutine,
			fan + "\t\tgo func() {\n\t\t\twg.Add(1)\n\t\t\tdefer wg.Done()\n\t\t\tw()\n\t\t}()\n\t}\n\twg.Wait()\n}\n",
			"\t\twg.Add(1)\n\t\tgo func() {"},
		{"add with a goroutine argument", correctness.WGAddInGoroutine,
			fan + "\t\tgo func(n int) {\n\t\t\twg.Add(n)\n\t\t\tdefer wg.Done()\n\t\t\tw()\n\t\t}(1)\n\t}\n\twg.Wait()\n}\n",
			""},
		{"add after other work", correctness.WGAddInGoroutine,
			fan + "\t\tgo func() {\n\t\t\tw()\n\t\t\twg.Add(1)\n\t\t\tdefer wg.Done()\n\t\t}()\n\t}\n\twg.Wait()\n}\n",
			""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := suggestionOf(t, tt.checker, tt.src); got != tt.want {
				t.Errorf("suggestion = %q, want %q", got, tt.want)
			}
		})
	}
}
