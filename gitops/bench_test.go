package gitops

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// BenchmarkVsGit times gitops against the git CLI on the repository that
// bench/gitops/gen.sh builds, in the same run, after the repository is
// open. It is skipped unless FIVEAXIS_BENCH_REPO names that repository:
//
//	bench/gitops/gen.sh /tmp/fiveaxis-bench-repo
//	FIVEAXIS_BENCH_REPO=/tmp/fiveaxis-bench-repo go test ./gitops -run '^$' -bench VsGit -benchtime 10x
//
// Each sub-benchmark reports gitops-ms/op, git-ms/op and ratio
// (gitops time divided by git time; the target is at most 2). In "warm"
// mode one handle serves every iteration, as in a long-running bot that
// looks at the same PR again; in "cold" mode each iteration gets a freshly
// opened handle (the open is not timed), so nothing is in its caches.
func BenchmarkVsGit(b *testing.B) {
	dir := os.Getenv("FIVEAXIS_BENCH_REPO")
	if dir == "" {
		b.Skip("FIVEAXIS_BENCH_REPO not set; see bench/gitops/gen.sh")
	}
	const target, head = "main", "pr"
	ctx := context.Background()
	repo, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer repo.Close()
	gitCmd := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+b.TempDir())
		out, err := cmd.Output()
		if err != nil {
			b.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	mb := gitCmd("merge-base", target, head)

	ops := []struct {
		name   string
		gitops func(repo *Repo) error
		git    []string
	}{
		{"merge-base", func(repo *Repo) error { _, err := repo.MergeBase(ctx, target, head); return err },
			[]string{"merge-base", target, head}},
		{"behind-ahead", func(repo *Repo) error { _, _, err := repo.Count(ctx, target, head); return err },
			[]string{"rev-list", "--left-right", "--count", target + "..." + head}},
		{"pr-diffstat", func(repo *Repo) error { _, err := repo.DiffStat(ctx, mb, head); return err },
			[]string{"diff", "--shortstat", mb, head}},
		{"vs-target-diffstat", func(repo *Repo) error { _, err := repo.DiffStat(ctx, target, head); return err },
			[]string{"diff", "--shortstat", target, head}},
		{"pr-diff", func(repo *Repo) error { _, err := repo.UnifiedDiff(ctx, mb, head); return err },
			[]string{"diff", mb, head}},
		{"conflicts", func(repo *Repo) error { _, err := repo.Conflicts(ctx, mb, target, head); return err },
			[]string{"merge-tree", "--write-tree", "--name-only", target, head}},
	}
	for _, mode := range []string{"warm", "cold"} {
		for _, op := range ops {
			b.Run(mode+"/"+op.name, func(b *testing.B) {
				// Warm both up once (page cache, and in warm mode the
				// handle's object cache).
				if err := op.gitops(repo); err != nil {
					b.Fatal(err)
				}
				runGit := func() {
					cmd := exec.Command("git", op.git...)
					cmd.Dir = dir
					cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1")
					if err := cmd.Run(); err != nil {
						if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
							b.Fatalf("git %v: %v", op.git, err)
						}
					}
				}
				runGit()
				var ours, theirs time.Duration
				b.ResetTimer()
				for range b.N {
					r := repo
					if mode == "cold" {
						// A fresh handle: nothing cached but the open itself,
						// which is not timed.
						b.StopTimer()
						if r, err = Open(dir); err != nil {
							b.Fatal(err)
						}
						if _, err := r.Resolve(target); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					start := time.Now()
					if err := op.gitops(r); err != nil {
						b.Fatal(err)
					}
					mid := time.Now()
					if r != repo {
						b.StopTimer()
						_ = r.Close()
						b.StartTimer()
					}
					runGit()
					ours += mid.Sub(start)
					theirs += time.Since(mid)
				}
				n := float64(b.N)
				b.ReportMetric(float64(ours.Microseconds())/1000/n, "gitops-ms/op")
				b.ReportMetric(float64(theirs.Microseconds())/1000/n, "git-ms/op")
				b.ReportMetric(float64(ours)/float64(theirs), "ratio")
			})
		}
	}
}

// TestBenchRepoMatchesGit checks gitops's figures on the benchmark
// repository against git's; skipped unless FIVEAXIS_BENCH_REPO is set.
func TestBenchRepoMatchesGit(t *testing.T) {
	dir := os.Getenv("FIVEAXIS_BENCH_REPO")
	if dir == "" {
		t.Skip("FIVEAXIS_BENCH_REPO not set; see bench/gitops/gen.sh")
	}
	tr := &testRepo{tb: t, dir: dir, home: t.TempDir()}
	repo := tr.open()
	checkAgainstGit(t, context.Background(), tr, repo, "main", "pr")
}
