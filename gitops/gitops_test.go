package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// scenario builds a repository and names the target branch and the head.
type scenario struct {
	name  string
	build func(r *testRepo) (target, head string)
}

func lines(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s line %d\n", prefix, i)
	}
	return b.String()
}

const goFile = `package demo

import "fmt"

func A() {
	fmt.Println("a")
}

func B() {
	fmt.Println("b")
}
`

const goFileEdited = `package demo

import "fmt"

func A() {
	fmt.Println("a")
}

func New() {
	fmt.Println("new")
}

func B() {
	fmt.Println("b")
	fmt.Println("b2")
}
`

var scenarios = []scenario{
	{"linear", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 20), "dir/b.txt", lines("b", 5))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("a.txt", strings.Replace(lines("a", 20), "a line 10\n", "changed 10\n", 1))
		r.commit("edit a")
		r.write("c.txt", "new file\n")
		r.commit("add c")
		return "main", "feature"
	}},
	{"diverged clean", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 40), "b.txt", lines("b", 10))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("a.txt", strings.Replace(lines("a", 40), "a line 5\n", "feature 5\n", 1))
		r.commit("feature edit")
		r.git("checkout", "-q", "main")
		r.write("a.txt", strings.Replace(lines("a", 40), "a line 30\n", "main 30\n", 1), "b.txt", lines("bb", 12))
		r.commit("main edit")
		r.write("m.txt", "m\n")
		r.commit("main add")
		return "main", "feature"
	}},
	{"conflict same line", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 10))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("a.txt", strings.Replace(lines("a", 10), "a line 5\n", "feature 5\n", 1))
		r.commit("feature")
		r.git("checkout", "-q", "main")
		r.write("a.txt", strings.Replace(lines("a", 10), "a line 5\n", "main 5\n", 1))
		r.commit("main")
		return "main", "feature"
	}},
	{"adjacent changes conflict", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 10))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("a.txt", strings.Replace(lines("a", 10), "a line 5\n", "feature 5\n", 1))
		r.commit("feature")
		r.git("checkout", "-q", "main")
		r.write("a.txt", strings.Replace(lines("a", 10), "a line 6\n", "main 6\n", 1))
		r.commit("main")
		return "main", "feature"
	}},
	{"identical changes", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 10))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("a.txt", strings.Replace(lines("a", 10), "a line 5\n", "same 5\n", 1))
		r.commit("feature")
		r.git("checkout", "-q", "main")
		r.write("a.txt", strings.Replace(lines("a", 10), "a line 5\n", "same 5\n", 1), "z.txt", "z\n")
		r.commit("main")
		return "main", "feature"
	}},
	{"renames", func(r *testRepo) (string, string) {
		r.write("old.txt", lines("o", 30), "keep.txt", lines("k", 30), "src/x.go", goFile)
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.git("mv", "old.txt", "new.txt")
		r.git("rm", "-q", "keep.txt")
		r.write("moved/keep2.txt", strings.Replace(lines("k", 30), "k line 3\n", "edited\n", 1))
		r.commit("renames")
		return "main", "feature"
	}},
	{"binary files", func(r *testRepo) (string, string) {
		r.write("img.bin", "\x00\x01\x02binary\n", "text.txt", "hello\n")
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("img.bin", "\x00\x01\x03binary changed\n", "new.bin", "PNG\x00\x00data", "text.txt", "hello\x00world\n")
		r.commit("binary")
		return "main", "feature"
	}},
	{"empty diff", func(r *testRepo) (string, string) {
		r.write("a.txt", "a\n")
		r.commit("base")
		r.git("branch", "feature")
		return "main", "feature"
	}},
	{"no trailing newline", func(r *testRepo) (string, string) {
		r.write("a.txt", "one\ntwo\nthree", "b.txt", "x\ny", "c.txt", "p\nq\n", "d.txt", "same\nend")
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("a.txt", "one\ntwo\nthree\n", "b.txt", "x\nz", "c.txt", "p\nq\nr", "d.txt", "changed\nsame\nend", "e.txt", "no newline")
		r.commit("newlines")
		return "main", "feature"
	}},
	{"mode changes", func(r *testRepo) (string, string) {
		r.write("run.sh", "#!/bin/sh\necho hi\n", "tool.sh", "#!/bin/sh\necho tool\n")
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.git("update-index", "--chmod=+x", "run.sh")
		r.write("tool.sh", "#!/bin/sh\necho tool2\n")
		r.git("add", "tool.sh")
		r.git("update-index", "--chmod=+x", "tool.sh")
		r.tick++
		r.git("commit", "-q", "-m", "modes")
		return "main", "feature"
	}},
	{"deleted files", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 10), "b.txt", lines("b", 3), "empty.txt", "")
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.git("rm", "-q", "a.txt", "empty.txt")
		r.write("new-empty.txt", "")
		r.commit("delete")
		return "main", "feature"
	}},
	{"invalid utf-8 and odd paths", func(r *testRepo) (string, string) {
		r.write("bad.txt", "ok\n\xff\xfe invalid \xc3\x28\nend\n", "caf\xc3\xa9.txt", "caf\xc3\xa9\n", "with space.txt", "s\n")
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("bad.txt", "ok\n\xff\xfd changed \xc3\x28\nend\n", "caf\xc3\xa9.txt", "caf\xc3\xa9 au lait\n", "with space.txt", "s2\n", "tab\there.txt", "t\n")
		r.commit("utf8")
		return "main", "feature"
	}},
	{"go code edit", func(r *testRepo) (string, string) {
		r.write("x.go", goFile)
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("x.go", goFileEdited)
		r.commit("edit")
		return "main", "feature"
	}},
	{"merge commits", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 30))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("f.txt", "f1\n")
		r.commit("f1")
		r.git("checkout", "-q", "main")
		r.write("m.txt", "m1\n")
		r.commit("m1")
		r.git("checkout", "-q", "feature")
		r.tick++
		r.git("merge", "-q", "--no-edit", "main")
		r.write("f.txt", "f1\nf2\n")
		r.commit("f2")
		r.git("checkout", "-q", "main")
		r.write("m.txt", "m1\nm2\n")
		r.commit("m2")
		return "main", "feature"
	}},
	{"criss-cross", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 30))
		r.commit("base")
		r.git("branch", "feature")
		r.write("m.txt", "m1\n")
		r.commit("m1")
		r.git("checkout", "-q", "feature")
		r.write("f.txt", "f1\n")
		r.commit("f1")
		r.git("branch", "f1")
		r.tick++
		r.git("merge", "-q", "--no-edit", "main")
		r.git("checkout", "-q", "main")
		r.tick++
		r.git("merge", "-q", "--no-edit", "f1")
		r.write("m.txt", "m1\nm2\n")
		r.commit("m2")
		r.git("checkout", "-q", "feature")
		r.write("f.txt", "f1\nf2\n")
		r.commit("f2")
		return "main", "feature"
	}},
	{"rename on target, edit on head", func(r *testRepo) (string, string) {
		r.write("lib/util.go", goFile, "other.txt", lines("o", 10))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("lib/util.go", strings.Replace(goFile, `"b"`, `"bee"`, 1))
		r.commit("edit util")
		r.git("checkout", "-q", "main")
		if err := os.MkdirAll(filepath.Join(r.dir, "pkg"), 0o755); err != nil {
			r.tb.Fatal(err)
		}
		r.git("mv", "lib/util.go", "pkg/util.go")
		r.commit("move util")
		return "main", "feature"
	}},
	{"modify/delete", func(r *testRepo) (string, string) {
		r.write("a.txt", lines("a", 10), "b.txt", lines("b", 10))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("a.txt", lines("A", 10))
		r.commit("feature edits a")
		r.git("checkout", "-q", "main")
		r.git("rm", "-q", "a.txt")
		r.commit("main deletes a")
		return "main", "feature"
	}},
	{"add/add", func(r *testRepo) (string, string) {
		r.write("a.txt", "a\n")
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("n.txt", "feature\n", "same.txt", "same\n")
		r.commit("feature adds")
		r.git("checkout", "-q", "main")
		r.write("n.txt", "main\n", "same.txt", "same\n")
		r.commit("main adds")
		return "main", "feature"
	}},
	{"symlinks and type changes", func(r *testRepo) (string, string) {
		r.write("target.txt", "t\n", "link", "x\n", "file", "f\n")
		if err := os.Symlink("target.txt", filepath.Join(r.dir, "sym")); err != nil {
			r.tb.Skip(err)
		}
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		if err := os.Remove(filepath.Join(r.dir, "link")); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.Symlink("target.txt", filepath.Join(r.dir, "link")); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.Remove(filepath.Join(r.dir, "sym")); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.Symlink("file", filepath.Join(r.dir, "sym")); err != nil {
			r.tb.Fatal(err)
		}
		r.commit("type change")
		return "main", "feature"
	}},
	{"file becomes a directory", func(r *testRepo) (string, string) {
		r.write("x", lines("x", 10), "x.txt", "dot\n", "y/z", "z\n", "w/a", lines("w", 5))
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.git("rm", "-q", "x", "y/z")
		r.write("x/inner", lines("x", 10), "y", "z\n", "w/a", lines("w", 6))
		r.commit("swap")
		return "main", "feature"
	}},
	{"file/directory: head adds a file where target adds a directory", func(r *testRepo) (string, string) {
		r.write("a.txt", "a\n")
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("docs", "notes\n", "a.txt", "a2\n")
		r.commit("feature adds file docs")
		r.git("checkout", "-q", "main")
		r.write("docs/deep/z.md", "z\n")
		r.commit("main adds docs/deep/z.md")
		return "main", "feature"
	}},
	{"file/directory: target adds a file where head adds a directory", func(r *testRepo) (string, string) {
		r.write("a.txt", "a\n")
		r.commit("base")
		r.git("checkout", "-q", "-b", "feature")
		r.write("lib/x.go", "package lib\n")
		r.commit("feature adds lib/x.go")
		r.git("checkout", "-q", "main")
		r.write("lib", "not a dir\n")
		r.commit("main adds file lib")
		return "main", "feature"
	}},
	{"head behind target", func(r *testRepo) (string, string) {
		r.write("a.txt", "a\n")
		r.commit("base")
		r.git("branch", "feature")
		for i := range 5 {
			r.write("a.txt", lines("v", i+2))
			r.commit("main " + fmt.Sprint(i))
		}
		return "main", "feature"
	}},
}

func TestScenarios(t *testing.T) {
	ctx := context.Background()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			tr := newTestRepo(t)
			target, head := sc.build(tr)
			// Loose objects are read through go-git, packed ones by the
			// pack reader: check both.
			t.Run("loose", func(t *testing.T) {
				checkAgainstGit(t, ctx, tr, tr.open(), target, head)
			})
			t.Run("packed", func(t *testing.T) {
				tr.git("repack", "-q", "-a", "-d")
				tr.git("prune-packed")
				checkAgainstGit(t, ctx, tr, tr.open(), target, head)
			})
		})
	}
}

// checkAgainstGit compares every gitops figure for target and head with the
// git CLI's.
func checkAgainstGit(t *testing.T, ctx context.Context, tr *testRepo, repo *Repo, target, head string) {
	t.Helper()
	wantMB := strings.TrimSpace(tr.git("merge-base", target, head))
	mb, err := repo.MergeBase(ctx, target, head)
	if err != nil || mb != wantMB {
		t.Errorf("MergeBase = %s, %v; git says %s", mb, err, wantMB)
	}
	wl, wr := tr.gitCount(target, head)
	l, rr, err := repo.Count(ctx, target, head)
	if err != nil || l != wl || rr != wr {
		t.Errorf("Count = %d %d, %v; git says %d %d", l, rr, err, wl, wr)
	}
	for _, pair := range [][2]string{{wantMB, head}, {target, head}, {head, target}} {
		want := tr.gitShortstat(pair[0], pair[1])
		got, err := repo.DiffStat(ctx, pair[0], pair[1])
		if err != nil || got != want {
			t.Errorf("DiffStat(%s, %s) = %+v, %v; git says %+v", pair[0], pair[1], got, err, want)
		}
		gitText := tr.git("diff", pair[0], pair[1])
		text, err := repo.UnifiedDiff(ctx, pair[0], pair[1])
		if err != nil {
			t.Fatalf("UnifiedDiff: %v", err)
		}
		if a, b := normalizeGitDiff(string(text)), normalizeGitDiff(gitText); a != b {
			t.Errorf("UnifiedDiff(%s, %s) differs from git diff:\n--- ours\n%s\n--- git\n%s", pair[0], pair[1], a, b)
		}
		d, err := repo.Diff(ctx, pair[0], pair[1])
		if err != nil {
			t.Fatalf("Diff: %v", err)
		}
		gitFiles, err := ParseDiff([]byte(gitText))
		if err != nil {
			t.Fatalf("ParseDiff(git diff): %v", err)
		}
		compareFiles(t, d.Files, gitFiles)
		if d.Stat.Insertions != want.Insertions || d.Stat.Deletions != want.Deletions || d.Stat.FilesChanged != want.FilesChanged {
			t.Errorf("Diff(%s, %s).Stat = %+v; git says %+v", pair[0], pair[1], d.Stat, want)
		}
	}
	wantConf := tr.gitConflicts(target, head)
	sameConflicts := func(got []string) bool {
		return (len(got) > 0) == (len(wantConf) > 0) && (len(wantConf) == 0 || reflect.DeepEqual(got, wantConf))
	}
	// With several merge-bases git merges them into a virtual base first;
	// Conflicts takes one base, so compare it only when there is one.
	if bases := strings.Fields(tr.git("merge-base", "--all", target, head)); len(bases) == 1 {
		conf, err := repo.Conflicts(ctx, wantMB, target, head)
		if err != nil {
			t.Fatalf("Conflicts: %v", err)
		}
		if !sameConflicts(conf) {
			t.Errorf("Conflicts = %q; git merge-tree says %q", conf, wantConf)
		}
	}
	drift, err := repo.ComputeDrift(ctx, target, head)
	if err != nil {
		t.Fatalf("ComputeDrift: %v", err)
	}
	if drift.MergeBase != wantMB || drift.Behind != wl || drift.Ahead != wr ||
		drift.VsTarget != tr.gitShortstat(target, head) || !sameConflicts(drift.Conflicts) {
		t.Errorf("ComputeDrift = %+v; git: merge-base %s, %d behind, %d ahead, conflicts %q", drift, wantMB, wl, wr, wantConf)
	}
}

// compareFiles compares parsed diffs file by file.
func compareFiles(t *testing.T, got, want []*FileDiff) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d files, git has %d", len(got), len(want))
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.OldPath != w.OldPath || g.NewPath != w.NewPath || g.Status != w.Status || g.Binary != w.Binary ||
			g.OldMode != w.OldMode || g.NewMode != w.NewMode {
			t.Errorf("file %d = %+v; git's %+v", i, *g, *w)
		}
		if !reflect.DeepEqual(g.Added, w.Added) || !reflect.DeepEqual(g.Removed, w.Removed) {
			t.Errorf("%s: added %v removed %v; git's added %v removed %v", g.Path(), g.Added, g.Removed, w.Added, w.Removed)
		}
	}
}

func TestResolve(t *testing.T) {
	tr := newTestRepo(t)
	tr.write("a.txt", "a\n")
	c1 := tr.commit("one")
	tr.write("a.txt", "b\n")
	c2 := tr.commit("two")
	tr.git("tag", "light", c1)
	tr.tick++
	tr.git("tag", "-a", "-m", "annotated", "v1.0", c1)
	tr.git("update-ref", "refs/remotes/origin/main", c2)
	tr.git("update-ref", "refs/pull/7/head", c1)
	repo := tr.open()
	tests := []struct {
		rev  string
		want string
	}{
		{"main", c2}, {"HEAD", c2}, {"light", c1}, {"v1.0", c1}, {"refs/tags/v1.0", c1},
		{c1, c1}, {c1[:8], c1}, {"origin/main", c2}, {"refs/pull/7/head", c1}, {"main~1", c1},
	}
	for _, tt := range tests {
		t.Run(tt.rev, func(t *testing.T) {
			got, err := repo.Resolve(tt.rev)
			if err != nil || got != tt.want {
				t.Errorf("Resolve(%q) = %q, %v; want %q", tt.rev, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"nope", "", "0000000000000000000000000000000000000000", "refs/heads/nope"} {
		if _, err := repo.Resolve(bad); !errors.Is(err, ErrUnknownRevision) {
			t.Errorf("Resolve(%q) error = %v; want ErrUnknownRevision", bad, err)
		}
	}
}

func TestOpen(t *testing.T) {
	tr := newTestRepo(t)
	tr.write("sub/dir/a.txt", "a\n")
	c := tr.commit("one")
	t.Run("subdirectory", func(t *testing.T) {
		repo, err := Open(filepath.Join(tr.dir, "sub", "dir"))
		if err != nil {
			t.Fatal(err)
		}
		defer repo.Close()
		if got, _ := repo.Resolve("HEAD"); got != c {
			t.Errorf("HEAD = %s; want %s", got, c)
		}
	})
	t.Run("bare", func(t *testing.T) {
		bare := filepath.Join(t.TempDir(), "bare.git")
		tr.git("clone", "-q", "--bare", tr.dir, bare)
		repo, err := Open(bare)
		if err != nil {
			t.Fatal(err)
		}
		defer repo.Close()
		if got, _ := repo.Resolve("main"); got != c {
			t.Errorf("main = %s; want %s", got, c)
		}
	})
	t.Run("not a repository", func(t *testing.T) {
		if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRepository) {
			t.Errorf("error = %v; want ErrNotRepository", err)
		}
		if _, err := Open(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrNotRepository) {
			t.Errorf("error = %v; want ErrNotRepository", err)
		}
	})
}

func TestDefaultBranch(t *testing.T) {
	tests := []struct {
		name  string
		setup func(tr *testRepo)
		want  string
	}{
		{"main", func(tr *testRepo) {}, "main"},
		{"master", func(tr *testRepo) { tr.git("branch", "-m", "main", "master") }, "master"},
		{"origin HEAD", func(tr *testRepo) {
			tr.git("update-ref", "refs/remotes/origin/trunk", "HEAD")
			tr.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
		}, "origin/trunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTestRepo(t)
			tr.write("a.txt", "a\n")
			tr.commit("one")
			tt.setup(tr)
			got, err := tr.open().DefaultBranch()
			if err != nil || got != tt.want {
				t.Errorf("DefaultBranch = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		tr := newTestRepo(t)
		tr.write("a.txt", "a\n")
		tr.commit("one")
		tr.git("branch", "-m", "main", "trunk")
		if _, err := tr.open().DefaultBranch(); !errors.Is(err, ErrUnknownRevision) {
			t.Errorf("error = %v", err)
		}
	})
}

func TestReadFileAndListFiles(t *testing.T) {
	tr := newTestRepo(t)
	tr.write("a.txt", "a1\n", "d/b.txt", "b\n")
	c1 := tr.commit("one")
	tr.write("a.txt", "a2\n")
	tr.commit("two")
	repo := tr.open()
	got, err := repo.ReadFile(c1, "a.txt")
	if err != nil || string(got) != "a1\n" {
		t.Errorf("ReadFile = %q, %v", got, err)
	}
	if got, _ := repo.ReadFile("main", "a.txt"); string(got) != "a2\n" {
		t.Errorf("ReadFile(main) = %q", got)
	}
	for _, p := range []string{"missing.txt", "d"} {
		if _, err := repo.ReadFile("main", p); !errors.Is(err, ErrNotExist) {
			t.Errorf("ReadFile(%q) error = %v; want ErrNotExist", p, err)
		}
	}
	if _, err := repo.ReadFile("nope", "a.txt"); !errors.Is(err, ErrUnknownRevision) {
		t.Errorf("ReadFile(nope) error = %v", err)
	}
	files, err := repo.ListFiles("main")
	if err != nil || !reflect.DeepEqual(files, []string{"a.txt", "d/b.txt"}) {
		t.Errorf("ListFiles = %v, %v", files, err)
	}
}

// TestConcurrentUse runs readers and diffs in parallel (meaningful with -race).
func TestConcurrentUse(t *testing.T) {
	tr := newTestRepo(t)
	tr.write("a.txt", lines("a", 50), "b.txt", lines("b", 50))
	c1 := tr.commit("one")
	tr.write("a.txt", lines("A", 50))
	c2 := tr.commit("two")
	repo := tr.open()
	ctx := context.Background()
	errc := make(chan error, 16)
	for i := range 8 {
		go func() {
			var err error
			if i%2 == 0 {
				_, err = repo.ReadFile(c1, "b.txt")
			} else {
				_, err = repo.DiffStat(ctx, c1, c2)
			}
			errc <- err
		}()
	}
	for range 8 {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
}

func TestCommitGraph(t *testing.T) {
	tr := newTestRepo(t)
	tr.write("a.txt", "a\n")
	tr.commit("base")
	tr.git("checkout", "-q", "-b", "feature")
	for i := range 10 {
		tr.write("f.txt", lines("f", i+1))
		tr.commit("f")
	}
	tr.git("checkout", "-q", "main")
	for i := range 7 {
		tr.write("m.txt", lines("m", i+1))
		tr.commit("m")
	}
	ctx := context.Background()
	for _, writer := range []string{"gitops", "git"} {
		t.Run(writer, func(t *testing.T) {
			_ = os.Remove(filepath.Join(tr.dir, ".git", "objects", "info", "commit-graph"))
			if writer == "git" {
				tr.git("commit-graph", "write", "--reachable")
			} else {
				repo := tr.open()
				if err := repo.WriteCommitGraph(); err != nil {
					t.Fatal(err)
				}
				if _, code := tr.gitStatus("commit-graph", "verify"); code != 0 {
					t.Errorf("git commit-graph verify failed")
				}
			}
			repo := tr.open()
			if repo.nodes().file == nil {
				t.Fatal("commit-graph file not used")
			}
			// A commit made after the graph was written is read from objects.
			checkAgainstGit(t, ctx, tr, repo, "main", "feature")
		})
	}
}
