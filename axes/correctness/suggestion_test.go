package correctness_test

import (
	"context"
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
