package gitops

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkDiffsAgainstGit compares DiffStat and the full UnifiedDiff text
// (similarity index included) of target..head and head..target with git's.
func checkDiffsAgainstGit(t *testing.T, tr *testRepo, target, head string) {
	t.Helper()
	ctx := context.Background()
	repo := tr.open()
	for _, pair := range [][2]string{{target, head}, {head, target}} {
		want := tr.gitShortstat(pair[0], pair[1])
		got, err := repo.DiffStat(ctx, pair[0], pair[1])
		if err != nil || got != want {
			t.Errorf("DiffStat(%s, %s) = %+v, %v; git says %+v", pair[0], pair[1], got, err, want)
		}
		gitText := normalizeGitDiff(tr.git("diff", pair[0], pair[1]))
		text, err := repo.UnifiedDiff(ctx, pair[0], pair[1])
		if err != nil {
			t.Fatalf("UnifiedDiff: %v", err)
		}
		if ours := normalizeGitDiff(string(text)); ours != gitText {
			t.Errorf("UnifiedDiff(%s, %s) differs from git diff:\n--- ours\n%s\n--- git\n%s", pair[0], pair[1], ours, gitText)
		}
	}
}

// TestRenameCases checks corner cases of git's rename detection.
func TestRenameCases(t *testing.T) {
	body := func(prefix string, n int) string { return lines(prefix, n) }
	cases := []struct {
		name        string
		base, after []string // path, content pairs; after replaces the tree
	}{
		{"last chunk without newline",
			[]string{"a.txt", "11111111\n22222222\n33333333\n44444444\n55555555\n" + strings.Repeat("t", 60)},
			[]string{"b.txt", "66666666\n77777777\n88888888\n99999999\n00000000\n" + strings.Repeat("t", 60)}},
		{"crlf",
			[]string{"a.txt", strings.ReplaceAll(body("c", 40), "\n", "\r\n")},
			[]string{"b.txt", strings.ReplaceAll(strings.Replace(body("c", 40), "c line 7\n", "seven\n", 1), "\n", "\r\n")}},
		{"crlf against lf",
			[]string{"a.txt", strings.ReplaceAll(body("c", 40), "\n", "\r\n")},
			[]string{"b.txt", body("c", 40)}},
		{"identical sources prefer the basename",
			[]string{"x/one.txt", body("s", 10), "y/two.txt", body("s", 10), "z/keep.txt", "k\n"},
			[]string{"w/two.txt", body("s", 10), "z/keep.txt", "k\n"}},
		{"identical sources, one destination each",
			[]string{"a1", body("s", 10), "a2", body("s", 10), "a3", body("s", 10)},
			[]string{"b1", body("s", 10), "b2", body("s", 10)}},
		{"basename match before best match",
			// d/file.txt is more like e/other.txt, but shares a unique
			// basename with c/file.txt and is at least 75% like it.
			[]string{"c/file.txt", body("p", 16) + body("q", 4), "e/other.txt", body("p", 16) + body("q", 3)},
			[]string{"d/file.txt", body("p", 16) + body("q", 3) + "x\n"}},
		{"duplicate basenames go to the matrix",
			[]string{"c/file.txt", body("p", 16) + body("q", 4), "e/file.txt", body("p", 16) + body("q", 3)},
			[]string{"d/file.txt", body("p", 16) + body("q", 3) + "x\n"}},
		{"sizes too different",
			[]string{"a.txt", body("z", 10)},
			[]string{"b.txt", body("z", 10) + body("y", 11)}},
		{"empty files",
			[]string{"e1", "", "e2", "", "f", "x\n"},
			[]string{"e3", "", "f", "x\n"}},
		{"binary rename",
			[]string{"a.bin", "\x00" + body("b", 30)},
			[]string{"b.bin", "\x00" + strings.Replace(body("b", 30), "b line 3\n", "x\n", 1)}},
		{"executable renamed and edited",
			[]string{"run.sh", body("r", 20)},
			[]string{"bin/run.sh", body("r", 20) + "more\n"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRepo(t)
			tr.write(tc.base...)
			if tc.name == "executable renamed and edited" {
				if err := os.Chmod(filepath.Join(tr.dir, "run.sh"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			tr.commit("base")
			tr.git("checkout", "-q", "-b", "feature")
			tr.git("rm", "-q", "-r", ".")
			tr.write(tc.after...)
			if tc.name == "executable renamed and edited" {
				if err := os.Chmod(filepath.Join(tr.dir, "bin/run.sh"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			tr.commit("after")
			checkDiffsAgainstGit(t, tr, "main", "feature")
		})
	}
}

// TestRandomRenames compares rename detection with git's on random trees:
// files deleted, copied with edits under new names (same basename in
// another directory, or a new one), some with CRLF or no final newline.
func TestRandomRenames(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rnd := rand.New(rand.NewSource(int64(seed)))
			tr := newTestRepo(t)
			word := func() string { return fmt.Sprintf("w%d", rnd.Intn(30)) }
			file := func() string {
				var b strings.Builder
				n := 1 + rnd.Intn(40)
				eol := "\n"
				if rnd.Intn(6) == 0 {
					eol = "\r\n"
				}
				for i := range n {
					for range rnd.Intn(12) {
						b.WriteString(word() + " ")
					}
					if i < n-1 || rnd.Intn(4) != 0 {
						b.WriteString(eol)
					}
				}
				return b.String()
			}
			mutate := func(s string) string {
				ls := strings.SplitAfter(s, "\n")
				for range rnd.Intn(1 + len(ls)/2) {
					i := rnd.Intn(len(ls))
					switch rnd.Intn(3) {
					case 0:
						ls[i] = word() + "\n"
					case 1:
						ls = append(ls[:i], ls[i+1:]...)
					default:
						ls = append(ls[:i], append([]string{word() + " " + word() + "\n"}, ls[i:]...)...)
					}
					if len(ls) == 0 {
						ls = []string{"x\n"}
					}
				}
				return strings.Join(ls, "")
			}
			dirs := []string{"", "a/", "b/", "a/c/"}
			names := []string{"f.txt", "g.txt", "h.go", "main.c", "x", "y.md"}
			path := func() string {
				return dirs[rnd.Intn(len(dirs))] + fmt.Sprintf("%s%d", names[rnd.Intn(len(names))], rnd.Intn(4))
			}
			base := map[string]string{}
			for range 40 {
				base[path()] = file()
			}
			for p, c := range base {
				tr.write(p, c)
			}
			tr.commit("base")
			tr.git("checkout", "-q", "-b", "feature")
			var deleted []string
			for p := range base {
				if rnd.Intn(2) == 0 {
					deleted = append(deleted, p)
				}
			}
			for _, p := range deleted {
				tr.git("rm", "-q", p)
			}
			for _, p := range deleted {
				np := path()
				if _, ok := base[np]; ok {
					continue
				}
				switch rnd.Intn(4) {
				case 0:
					tr.write(np, base[p])
				case 1, 2:
					tr.write(np, mutate(base[p]))
				default:
					tr.write(np, file())
				}
			}
			tr.commit("renames")
			checkDiffsAgainstGit(t, tr, "main", "feature")
		})
	}
}
