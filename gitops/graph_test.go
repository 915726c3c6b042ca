package gitops

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRandomHistories compares MergeBase and Count with git on random
// histories full of merges (criss-crosses included) and with some clock
// skew, with and without a commit-graph file.
func TestRandomHistories(t *testing.T) {
	ctx := context.Background()
	for seed := int64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			tr := newTestRepo(t)
			tr.write("a.txt", "a\n")
			root := tr.commit("root")
			tree := strings.TrimSpace(tr.git("rev-parse", root+"^{tree}"))
			commits := []string{root}
			for i := range 60 {
				args := []string{"commit-tree", tree, "-m", fmt.Sprint("c", i)}
				p1 := commits[len(commits)-1-rng.Intn(min(len(commits), 8))]
				args = append(args, "-p", p1)
				if rng.Intn(3) == 0 {
					p2 := commits[rng.Intn(len(commits))]
					if p2 != p1 {
						args = append(args, "-p", p2)
					}
					// Now and then an octopus merge (the commit-graph's
					// extra edge list).
					if p3 := commits[rng.Intn(len(commits))]; rng.Intn(4) == 0 && p3 != p1 && p3 != p2 {
						args = append(args, "-p", p3)
					}
				}
				// Mostly increasing dates, sometimes going back in time.
				tr.tick += 1 + rng.Intn(3)
				if rng.Intn(10) == 0 {
					tr.tick -= 5
				}
				commits = append(commits, strings.TrimSpace(tr.git(args...)))
			}
			var pairs [][2]string
			for range 25 {
				pairs = append(pairs, [2]string{commits[rng.Intn(len(commits))], commits[rng.Intn(len(commits))]})
			}
			check := func(t *testing.T, graph bool) {
				repo := tr.open()
				if (repo.nodes().file != nil) != graph || (repo.nodes().fast != nil) != graph {
					t.Fatalf("commit-graph in use: %v; want %v", !graph, graph)
				}
				for _, p := range pairs {
					// git merge-base may pick either of several equally good
					// bases; compare with the whole set.
					all := strings.Fields(tr.git("merge-base", "--all", p[0], p[1]))
					want := strings.TrimSpace(tr.git("merge-base", p[0], p[1]))
					mb, err := repo.MergeBase(ctx, p[0], p[1])
					if err != nil || !contains(all, mb) {
						t.Errorf("MergeBase(%.7s, %.7s) = %.7s, %v; git says one of %.7s", p[0], p[1], mb, err, all)
					}
					if mb != want {
						t.Errorf("MergeBase(%.7s, %.7s) = %.7s; git prints %.7s of %.7s", p[0], p[1], mb, want, all)
					}
					wl, wr := tr.gitCount(p[0], p[1])
					l, r, err := repo.Count(ctx, p[0], p[1])
					if err != nil || l != wl || r != wr {
						t.Errorf("Count(%.7s, %.7s) = %d %d, %v; git says %d %d", p[0], p[1], l, r, err, wl, wr)
					}
				}
			}
			t.Run("objects", func(t *testing.T) { check(t, false) })
			t.Run("commit-graph", func(t *testing.T) {
				writeGraph := exec.Command("git", "commit-graph", "write", "--stdin-commits", "--no-progress")
				writeGraph.Dir, writeGraph.Env = tr.dir, tr.env()
				writeGraph.Stdin = strings.NewReader(strings.Join(commits, "\n") + "\n")
				if out, err := writeGraph.CombinedOutput(); err != nil {
					t.Fatalf("git commit-graph write: %v\n%s", err, out)
				}

				check(t, true)
			})
			t.Run("partial commit-graph", func(t *testing.T) {
				// The older half of the history in the file, the newer
				// half read from commit objects.
				writeGraph := exec.Command("git", "commit-graph", "write", "--stdin-commits", "--no-progress")
				writeGraph.Dir, writeGraph.Env = tr.dir, tr.env()
				writeGraph.Stdin = strings.NewReader(strings.Join(commits[:len(commits)/2], "\n") + "\n")
				if out, err := writeGraph.CombinedOutput(); err != nil {
					t.Fatalf("git commit-graph write: %v\n%s", err, out)
				}
				check(t, true)
			})
			t.Run("gitops commit-graph", func(t *testing.T) {
				if err := os.Remove(filepath.Join(tr.dir, ".git", "objects", "info", "commit-graph")); err != nil {
					t.Fatal(err)
				}
				repo := tr.open()
				if err := repo.WriteCommitGraph(); err != nil {
					t.Fatal(err)
				}
				check(t, true)
			})
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
