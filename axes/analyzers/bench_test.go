package analyzers

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

// BenchmarkLargePR runs the analyzers on the repository made by
// bench/review/gen.sh (main..pr), named by FIVEAXIS_BENCH_LARGE_PR. It is
// skipped when the variable is unset.
//
//	bench/review/gen.sh /tmp/fiveaxis-large-pr
//	FIVEAXIS_BENCH_LARGE_PR=/tmp/fiveaxis-large-pr go test -run '^$' -bench LargePR -benchtime 3x ./axes/analyzers
func BenchmarkLargePR(b *testing.B) {
	dir := os.Getenv("FIVEAXIS_BENCH_LARGE_PR")
	if dir == "" {
		b.Skip("FIVEAXIS_BENCH_LARGE_PR is not set")
	}
	repo, err := gitops.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer repo.Close()
	base, err := repo.Resolve("main")
	if err != nil {
		b.Fatal(err)
	}
	head, err := repo.Resolve("pr")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	d, err := repo.Diff(ctx, base, head)
	if err != nil {
		b.Fatal(err)
	}
	in := axes.Input{Diff: d, Base: gitops.TreeAt(repo, base), Head: gitops.TreeAt(repo, head)}
	checkers := Checkers(Options{Timeout: 10 * time.Minute})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := axes.Run(ctx, checkers, in, axes.Options{Timeout: 10 * time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Errors) > 0 {
			b.Fatal(res.Errors)
		}
		if i == 0 {
			b.Logf("%d findings; notes: %q", len(res.Findings), res.Notes)
		}
		b.ReportMetric(float64(len(res.Findings)), "findings")
	}
}
