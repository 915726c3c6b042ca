// Package review holds the review benchmark: gen.sh makes a large PR,
// run.sh times the fiveaxis binary on it, and BenchmarkReview times the
// review pipeline in-process, where go test -cpuprofile shows which rules
// cost the most.
package review

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/analyzers"
	"github.com/fiveaxis/fiveaxis/axes/architecture"
	"github.com/fiveaxis/fiveaxis/axes/correctness"
	"github.com/fiveaxis/fiveaxis/axes/performance"
	"github.com/fiveaxis/fiveaxis/axes/readability"
	"github.com/fiveaxis/fiveaxis/axes/security"
	"github.com/fiveaxis/fiveaxis/gitops"
	"github.com/fiveaxis/fiveaxis/reviewer"
)

// astCheckers mirrors cmd/fiveaxis/checkers.go (the AST rules, no LLM).
func astCheckers() []*axes.Checker {
	var out []*axes.Checker
	for _, set := range []func() []*axes.Checker{
		correctness.Checkers, readability.Checkers, architecture.Checkers, security.Checkers, performance.Checkers,
	} {
		out = append(out, set()...)
	}
	return out
}

// BenchmarkReview reviews main..pr of the repository named by
// FIVEAXIS_BENCH_LARGE_PR (made by gen.sh) with the AST rules only
// ("ast") and with the type-checked analyzers too ("analyzers"):
//
//	bench/review/gen.sh /tmp/fiveaxis-large-pr
//	FIVEAXIS_BENCH_LARGE_PR=/tmp/fiveaxis-large-pr go test -run '^$' -bench Review -benchtime 3x -cpuprofile /tmp/review.cpu ./bench/review
func BenchmarkReview(b *testing.B) {
	dir := os.Getenv("FIVEAXIS_BENCH_LARGE_PR")
	if dir == "" {
		b.Skip("FIVEAXIS_BENCH_LARGE_PR is not set")
	}
	for _, bc := range []struct {
		name      string
		analyzers bool
	}{{"ast", false}, {"analyzers", true}} {
		b.Run(bc.name, func(b *testing.B) {
			checkers := astCheckers()
			if bc.analyzers {
				checkers = append(checkers, analyzers.Checkers(analyzers.Options{})...)
			}
			for i := 0; i < b.N; i++ {
				repo, err := gitops.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				rv, err := reviewer.Run(context.Background(), repo, reviewer.Request{BaseRef: "main", HeadRef: "pr"}, reviewer.Options{
					Checkers: checkers, CheckerTimeout: 5 * time.Minute, IgnoreRepoConfig: true,
				})
				repo.Close()
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(rv.Findings())), "findings")
			}
		})
	}
}
