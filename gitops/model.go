// Package gitops owns everything that touches git: opening repositories
// (work trees and bare mirrors), resolving revisions, merge-bases, the
// behind/ahead counts, unified diffs parsed into a model, diffstats, reading
// files at a revision and textual conflict detection. It is the only package
// that imports go-git and go-diff, and it never shells out to the git CLI.
package gitops

// Stat is a diffstat, with the same meaning as `git diff --shortstat`:
// binary and mode-only changes count as changed files.
type Stat struct {
	FilesChanged int `json:"files_changed"`
	Insertions   int `json:"insertions"`
	Deletions    int `json:"deletions"`
}

// FileStatus says what happened to a file in a diff.
type FileStatus string

// File statuses.
const (
	StatusAdded    FileStatus = "added"
	StatusDeleted  FileStatus = "deleted"
	StatusModified FileStatus = "modified"
	StatusRenamed  FileStatus = "renamed"
)

// Diff is a parsed unified diff between two commits.
type Diff struct {
	From  string      // commit SHA of the old side
	To    string      // commit SHA of the new side
	Files []*FileDiff // in path order
	Stat  Stat
}

// FileDiff is one file of a Diff.
type FileDiff struct {
	OldPath string // empty for an added file
	NewPath string // empty for a deleted file
	Status  FileStatus
	Binary  bool
	OldMode string // octal, e.g. "100644"; empty when absent
	NewMode string
	Hunks   []Hunk
	// Added holds the line numbers (1-based, new side) of added lines, ascending.
	Added []int
	// Removed holds the line numbers (1-based, old side) of removed lines, ascending.
	Removed []int
}

// Path returns the file's path on the new side, or on the old side when the
// file was deleted.
func (f *FileDiff) Path() string {
	if f.NewPath != "" {
		return f.NewPath
	}
	return f.OldPath
}

// Hunk is one hunk of a FileDiff.
type Hunk struct {
	OldStart, OldLines int
	NewStart, NewLines int
	Section            string // text after the second @@, if any
	Body               string // the hunk's lines, each prefixed with ' ', '+' or '-'
}

// Drift describes how far a head has drifted from its target branch.
type Drift struct {
	TargetRef string // the target branch, e.g. "main"
	TargetSHA string // current tip of the target
	HeadSHA   string
	MergeBase string
	Behind    int  // commits on the target that head lacks
	Ahead     int  // commits on head that the target lacks
	VsTarget  Stat // diffstat of target tip..head
	// Conflicts lists the files whose changes on both sides since the
	// merge-base overlap, confirmed by a 3-way line merge. Sorted.
	Conflicts []string
}
