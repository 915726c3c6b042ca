package gitops

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// randomText returns n lines drawn from a small vocabulary, so that lines
// repeat and the diff has to choose between equivalent alignments.
func randomText(rng *rand.Rand, n int) string {
	vocab := []string{"", "}", "{", "\treturn nil", "func f() {", "x := 1", "if err != nil {", "// comment", "a", "b", "c"}
	var b strings.Builder
	for range n {
		if rng.Intn(4) == 0 {
			fmt.Fprintf(&b, "unique %d\n", rng.Intn(1000))
		} else {
			b.WriteString(vocab[rng.Intn(len(vocab))] + "\n")
		}
	}
	return b.String()
}

// mutate applies random insertions, deletions and replacements of runs of
// lines.
func mutate(rng *rand.Rand, text string) string {
	ls := strings.SplitAfter(text, "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	for range 1 + rng.Intn(6) {
		pos := 0
		if len(ls) > 0 {
			pos = rng.Intn(len(ls) + 1)
		}
		n := 1 + rng.Intn(5)
		switch rng.Intn(3) {
		case 0: // insert
			ins := strings.SplitAfter(randomText(rng, n), "\n")
			ins = ins[:len(ins)-1]
			ls = append(ls[:pos], append(ins, ls[pos:]...)...)
		case 1: // delete
			end := min(pos+n, len(ls))
			ls = append(ls[:pos], ls[end:]...)
		default: // replace
			end := min(pos+n, len(ls))
			ins := strings.SplitAfter(randomText(rng, n), "\n")
			ins = ins[:len(ins)-1]
			ls = append(ls[:pos], append(ins, ls[end:]...)...)
		}
	}
	out := strings.Join(ls, "")
	if rng.Intn(5) == 0 {
		out = strings.TrimSuffix(out, "\n")
	}
	return out
}

// TestLineDiffMatchesGit diffs many random edits of files full of repeated
// lines, and checks that the text equals `git diff` byte for byte, which
// covers git's Myers heuristics, change compaction and indent heuristic.
func TestLineDiffMatchesGit(t *testing.T) {
	tr := newTestRepo(t)
	rng := rand.New(rand.NewSource(1))
	const files = 60
	var before []string
	for i := range files {
		size := 5 + rng.Intn(80)
		if i%10 == 0 {
			size = 400 + rng.Intn(400) // big enough for the cost limits
		}
		before = append(before, randomText(rng, size))
		tr.write(fmt.Sprintf("f%02d.txt", i), before[i])
	}
	base := tr.commit("base")
	for i := range files {
		after := mutate(rng, before[i])
		if i%10 == 0 {
			for range 20 {
				after = mutate(rng, after)
			}
		}
		tr.write(fmt.Sprintf("f%02d.txt", i), after)
	}
	head := tr.commit("edits")
	repo := tr.open()
	ctx := context.Background()
	text, err := repo.UnifiedDiff(ctx, base, head)
	if err != nil {
		t.Fatal(err)
	}
	want := tr.git("diff", "--no-renames", base, head)
	got, gitText := splitByFile(normalizeGitDiff(string(text))), splitByFile(normalizeGitDiff(want))
	for name, g := range got {
		if w := gitText[name]; g != w {
			t.Errorf("%s differs from git:\n--- ours\n%s--- git\n%s", name, g, w)
		}
	}
	if len(got) != len(gitText) {
		t.Errorf("%d files, git has %d", len(got), len(gitText))
	}
	st, err := repo.DiffStat(ctx, base, head)
	if want := tr.gitShortstat(base, head); err != nil || st != want {
		t.Errorf("DiffStat = %+v, %v; git says %+v", st, err, want)
	}
}

// splitByFile maps each file's first diff line to its part of a diff.
func splitByFile(text string) map[string]string {
	out := map[string]string{}
	for _, chunk := range splitFileDiffs([]byte(text)) {
		first, _, _ := strings.Cut(string(chunk), "\n")
		out[first] = string(chunk)
	}
	return out
}

func TestMergeConflicts(t *testing.T) {
	split := func(s string) [][]byte { return splitLines([]byte(s)) }
	tests := []struct {
		name               string
		base, ours, theirs string
		want               bool
	}{
		{"disjoint", "a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n", false},
		{"same line", "a\nb\nc\n", "a\nB\nc\n", "a\nX\nc\n", true},
		{"adjacent", "a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n", true},
		{"identical", "a\nb\nc\n", "a\nB\nc\n", "a\nB\nc\n", false},
		{"insert same place", "a\nb\n", "a\nx\nb\n", "a\ny\nb\n", true},
		{"insert same text", "a\nb\n", "a\nx\nb\n", "a\nx\nb\n", false},
		{"one side only", "a\nb\n", "a\nb\n", "a\nc\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeConflicts(split(tt.base), split(tt.ours), split(tt.theirs)); got != tt.want {
				t.Errorf("mergeConflicts = %v; want %v", got, tt.want)
			}
		})
	}
}
