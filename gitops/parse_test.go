package gitops

import (
	"reflect"
	"testing"
)

func TestParseDiff(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []*FileDiff
	}{
		{"empty", "", nil},
		{"modified", "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@ func f\n a\n-b\n+B\n c\n",
			[]*FileDiff{{OldPath: "x", NewPath: "x", Status: StatusModified, OldMode: "100644", NewMode: "100644",
				Hunks: []Hunk{{OldStart: 1, OldLines: 3, NewStart: 1, NewLines: 3, Section: "func f", Body: " a\n-b\n+B\n c\n"}},
				Added: []int{2}, Removed: []int{2}}}},
		{"pure rename then mode change", "diff --git a/old b/new\nsimilarity index 100%\nrename from old\nrename to new\ndiff --git a/m b/m\nold mode 100644\nnew mode 100755\n",
			[]*FileDiff{
				{OldPath: "old", NewPath: "new", Status: StatusRenamed},
				{OldPath: "m", NewPath: "m", Status: StatusModified, OldMode: "100644", NewMode: "100755"}}},
		{"binary mode change last", "diff --git a/b b/b\nold mode 100644\nnew mode 100755\nindex 1..2\nBinary files a/b and b/b differ\n",
			[]*FileDiff{{OldPath: "b", NewPath: "b", Status: StatusModified, Binary: true, OldMode: "100644", NewMode: "100755"}}},
		{"new empty file", "diff --git a/e b/e\nnew file mode 100644\nindex 0000000..e69de29\n",
			[]*FileDiff{{NewPath: "e", Status: StatusAdded, NewMode: "100644"}}},
		{"deleted binary", "diff --git a/d.bin b/d.bin\ndeleted file mode 100644\nindex 1..0000000\nBinary files a/d.bin and /dev/null differ\n",
			[]*FileDiff{{OldPath: "d.bin", Status: StatusDeleted, OldMode: "100644", Binary: true}}},
		{"quoted", "diff --git \"a/caf\\303\\251\" \"b/caf\\303\\251\"\nnew file mode 100644\nindex 0..1\n--- /dev/null\n+++ \"b/caf\\303\\251\"\n@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n",
			[]*FileDiff{{NewPath: "café", Status: StatusAdded, NewMode: "100644",
				Hunks: []Hunk{{OldStart: 0, OldLines: 0, NewStart: 1, NewLines: 1, Body: "+x"}}, Added: []int{1}}}},
		{"plain unified", "--- a/p\n+++ b/p\n@@ -1 +1,2 @@\n p\n+q\n",
			[]*FileDiff{{OldPath: "p", NewPath: "p", Status: StatusModified,
				Hunks: []Hunk{{OldStart: 1, OldLines: 1, NewStart: 1, NewLines: 2, Body: " p\n+q\n"}}, Added: []int{2}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDiff([]byte(tt.text))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				for _, f := range got {
					t.Logf("got %+v", *f)
				}
				t.Errorf("ParseDiff mismatch")
			}
		})
	}
}

func FuzzParseDiff(f *testing.F) {
	f.Add([]byte("diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"))
	f.Add([]byte("diff --git a/old b/new\nsimilarity index 90%\nrename from old\nrename to new\nindex 1..2 100644\n--- a/old\n+++ b/new\n@@ -1 +1 @@\n-\xff\n+\xfe\n\\ No newline at end of file\n"))
	f.Add([]byte("diff --git a/b b/b\nindex 1..2 100644\nBinary files a/b and b/b differ\n"))
	f.Add([]byte("--- a/p\n+++ b/p\n@@ -1 +1,2 @@\n p\n+q\n"))
	f.Fuzz(func(t *testing.T, text []byte) {
		files, err := ParseDiff(text)
		if err != nil {
			return
		}
		for _, fd := range files {
			for i := 1; i < len(fd.Added); i++ {
				if fd.Added[i] <= fd.Added[i-1] && len(fd.Hunks) < 2 {
					t.Errorf("added lines not ascending: %v", fd.Added)
				}
			}
		}
	})
}
