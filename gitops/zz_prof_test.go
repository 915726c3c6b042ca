package gitops

import (
	"context"
	"os"
	"testing"
)

func BenchmarkZZColdVsTarget(b *testing.B) {
	dir := os.Getenv("FIVEAXIS_BENCH_REPO")
	for range b.N {
		b.StopTimer()
		r, _ := Open(dir)
		r.Resolve("main")
		b.StartTimer()
		if _, err := r.DiffStat(context.Background(), "main", "pr"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		r.Close()
		b.StartTimer()
	}
}
