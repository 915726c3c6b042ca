package gitops

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	godiff "github.com/sourcegraph/go-diff/diff"
)

// ParseDiff parses a unified diff in git's format (as UnifiedDiff and
// `git diff` print it) into files, with their hunks and the line numbers of
// added and removed lines. Plain unified diffs without `diff --git` lines
// are accepted too. Hunk bodies keep their lines as they are, whatever the
// encoding.
func ParseDiff(text []byte) ([]*FileDiff, error) {
	var files []*FileDiff
	for _, chunk := range splitFileDiffs(text) {
		f, err := parseFileChunk(chunk)
		if err != nil {
			return nil, err
		}
		if f != nil {
			files = append(files, f)
		}
	}
	return files, nil
}

// splitFileDiffs cuts a git diff at its `diff --git` lines. A hunk line
// always starts with ' ', '+', '-' or '\', so the cut is never inside a
// hunk.
func splitFileDiffs(text []byte) [][]byte {
	const marker = "diff --git "
	var starts []int
	for off := 0; off < len(text); {
		if bytes.HasPrefix(text[off:], []byte(marker)) {
			starts = append(starts, off)
		}
		nl := bytes.IndexByte(text[off:], '\n')
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	if len(starts) == 0 {
		if len(bytes.TrimSpace(text)) == 0 {
			return nil
		}
		return [][]byte{text}
	}
	chunks := make([][]byte, 0, len(starts))
	// Text before the first file is not part of any file.
	for i, s := range starts {
		end := len(text)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		chunks = append(chunks, text[s:end])
	}
	return chunks
}

// parseFileChunk parses the diff of one file.
func parseFileChunk(chunk []byte) (*FileDiff, error) {
	isGit := bytes.HasPrefix(chunk, []byte("diff --git "))
	var gd *godiff.FileDiff
	if bytes.Contains(chunk, []byte("\n--- ")) || bytes.HasPrefix(chunk, []byte("--- ")) {
		fds, err := godiff.ParseMultiFileDiff(chunk)
		if err != nil {
			return nil, fmt.Errorf("parse diff: %w", err)
		}
		if len(fds) > 0 {
			gd = fds[0]
		}
	}
	if gd == nil {
		if !isGit {
			return nil, nil
		}
		// Headers only (mode change, pure rename, binary, empty file):
		// go-diff drops some of these, so read the headers directly.
		gd = &godiff.FileDiff{}
		for _, l := range strings.Split(strings.TrimRight(string(chunk), "\n"), "\n") {
			gd.Extended = append(gd.Extended, l)
		}
	}
	f := &FileDiff{}
	oldName, newName := gd.OrigName, gd.NewName
	var gitOld, gitNew string
	renamed := false
	for _, h := range gd.Extended {
		switch {
		case strings.HasPrefix(h, "diff --git "):
			gitOld, gitNew = parseGitArgs(h[len("diff --git "):])
		case strings.HasPrefix(h, "new file mode "):
			f.NewMode = strings.TrimSpace(h[len("new file mode "):])
			oldName = "/dev/null"
		case strings.HasPrefix(h, "deleted file mode "):
			f.OldMode = strings.TrimSpace(h[len("deleted file mode "):])
			newName = "/dev/null"
		case strings.HasPrefix(h, "old mode "):
			f.OldMode = strings.TrimSpace(h[len("old mode "):])
		case strings.HasPrefix(h, "new mode "):
			f.NewMode = strings.TrimSpace(h[len("new mode "):])
		case strings.HasPrefix(h, "rename from "):
			f.OldPath = unquotePath(h[len("rename from "):])
			renamed = true
		case strings.HasPrefix(h, "rename to "):
			f.NewPath = unquotePath(h[len("rename to "):])
			renamed = true
		case strings.HasPrefix(h, "index "):
			fields := strings.Fields(h)
			if len(fields) == 3 && f.OldMode == "" && f.NewMode == "" {
				f.OldMode, f.NewMode = fields[2], fields[2]
			}
		case strings.HasPrefix(h, "Binary files ") || strings.HasPrefix(h, "GIT binary patch"):
			f.Binary = true
			if strings.HasPrefix(h, "Binary files /dev/null and ") {
				oldName = "/dev/null"
			} else if strings.HasSuffix(h, " and /dev/null differ") {
				newName = "/dev/null"
			}
		}
	}
	if !renamed {
		f.OldPath = pathFromLabel(oldName, gitOld)
		f.NewPath = pathFromLabel(newName, gitNew)
	}
	switch {
	case oldName == "/dev/null":
		f.OldPath, f.Status = "", StatusAdded
		if f.NewPath == "" {
			f.NewPath = stripPrefix(gitNew)
		}
	case newName == "/dev/null":
		f.NewPath, f.Status = "", StatusDeleted
		if f.OldPath == "" {
			f.OldPath = stripPrefix(gitOld)
		}
	case renamed && f.OldPath != f.NewPath:
		f.Status = StatusRenamed
	default:
		f.Status = StatusModified
	}
	for _, h := range gd.Hunks {
		f.Hunks = append(f.Hunks, convertHunk(f, h))
	}
	return f, nil
}

// pathFromLabel returns the path of a ---/+++ label, or else of the
// corresponding `diff --git` argument.
func pathFromLabel(label, gitArg string) string {
	if label == "" || label == "/dev/null" {
		if gitArg != "" && label == "" {
			return stripPrefix(gitArg)
		}
		return ""
	}
	return stripPrefix(unquotePath(label))
}

// stripPrefix removes the a/ or b/ prefix of a diff label.
func stripPrefix(p string) string {
	if len(p) >= 2 && p[1] == '/' && (p[0] == 'a' || p[0] == 'b') {
		return p[2:]
	}
	return p
}

// unquotePath undoes git's path quoting; an unquoted path is returned as is,
// without the tab git may put after a label.
func unquotePath(p string) string {
	if len(p) >= 2 && p[0] == '"' {
		if s, _, err := readQuoted(p); err == nil {
			return s
		}
		return p
	}
	return strings.TrimSuffix(p, "\t")
}

// readQuoted reads one C-quoted string from the start of s.
func readQuoted(s string) (value, rest string, err error) {
	backslashes := 0
	for i := 1; i < len(s); i++ {
		switch {
		case s[i] == '"' && backslashes%2 == 0:
			v, err := strconv.Unquote(s[:i+1])
			return v, s[i+1:], err
		case s[i] == '\\':
			backslashes++
		default:
			backslashes = 0
		}
	}
	return "", "", fmt.Errorf("unterminated quoted path %q", s)
}

// parseGitArgs splits the arguments of a `diff --git` line into the two
// names, with their a/ and b/ prefixes. With unquoted names containing
// spaces it relies on both names being equal, as they are unless the file
// was renamed (and then the rename lines give the names).
func parseGitArgs(args string) (string, string) {
	args = strings.TrimRight(args, "\r")
	if strings.HasPrefix(args, `"`) {
		first, rest, err := readQuoted(args)
		if err != nil || !strings.HasPrefix(rest, " ") {
			return "", ""
		}
		rest = rest[1:]
		if strings.HasPrefix(rest, `"`) {
			second, _, err := readQuoted(rest)
			if err != nil {
				return first, ""
			}
			return first, second
		}
		return first, rest
	}
	if i := strings.Index(args, ` "`); i >= 0 && strings.HasSuffix(args, `"`) {
		second, _, err := readQuoted(args[i+1:])
		if err == nil {
			return args[:i], second
		}
	}
	if len(args)%2 == 1 {
		half := len(args) / 2
		first, second := args[:half], args[half+1:]
		if args[half] == ' ' && stripPrefix(first) == stripPrefix(second) {
			return first, second
		}
	}
	if i := strings.Index(args, " b/"); i >= 0 {
		return args[:i], args[i+1:]
	}
	return "", ""
}

// convertHunk turns a go-diff hunk into a Hunk and records the line
// numbers of its added and removed lines in f.
func convertHunk(f *FileDiff, h *godiff.Hunk) Hunk {
	out := Hunk{
		OldStart: int(h.OrigStartLine), OldLines: int(h.OrigLines),
		NewStart: int(h.NewStartLine), NewLines: int(h.NewLines),
		Section: h.Section, Body: string(h.Body),
	}
	oldLine, newLine := out.OldStart, out.NewStart
	body := h.Body
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		if len(line) == 0 {
			oldLine++
			newLine++
			continue
		}
		switch line[0] {
		case '+':
			f.Added = append(f.Added, newLine)
			newLine++
		case '-':
			f.Removed = append(f.Removed, oldLine)
			oldLine++
		case '\\':
		default:
			oldLine++
			newLine++
		}
	}
	return out
}
