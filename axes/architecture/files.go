package architecture

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// DestructiveMigration reports schema migrations that drop or truncate data.
var DestructiveMigration = &axes.Checker{
	Name:     "architecture/destructive-migration",
	Doc:      `Schema migrations should not destroy data in the same step that changes the code. DROP TABLE, DROP COLUMN, TRUNCATE and renames break the version of the service still running during a rolling deploy and lose data that cannot be brought back; stop using the column or table first, ship that, and drop it in a later migration after a backup. Down migrations are not reported.`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityWarning,
	Run:      runDestructiveMigration,
}

// UnpinnedImage reports container images without a pinned version.
var UnpinnedImage = &axes.Checker{
	Name:     "architecture/unpinned-image",
	Doc:      `Container base images should be pinned to a version. FROM image:latest, or an image without a tag, builds something different every time the upstream tag moves, so builds are not reproducible and a rebuild can silently pull breaking or vulnerable changes; pin a version tag (or a digest).`,
	Axis:     axes.Architecture,
	Severity: axes.SeverityWarning,
	Run:      runUnpinnedImage,
}

var (
	destructiveSQL = regexp.MustCompile(`(?i)\b(DROP\s+(TABLE|COLUMN|DATABASE|SCHEMA)|TRUNCATE(\s+TABLE)?\s+\w|ALTER\s+TABLE\s+[\w."]+\s+(DROP|RENAME)\b|RENAME\s+(TABLE|COLUMN)\b)`)
	gooseDown      = regexp.MustCompile(`(?i)^\s*--\s*\+(goose|migrate)\s+down`)
	gooseUp        = regexp.MustCompile(`(?i)^\s*--\s*\+(goose|migrate)\s+up`)
	fromLine       = regexp.MustCompile(`(?i)^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?`)
	yamlImage      = regexp.MustCompile(`^\s*-?\s*image:\s*["']?([^"'\s#]+)`)
)

// isDownMigration reports whether a file holds only down migrations.
func isDownMigration(p string) bool {
	b := strings.ToLower(path.Base(p))
	return strings.Contains(b, ".down.") || strings.HasSuffix(b, "_down.sql") || strings.HasSuffix(b, "-down.sql")
}

func runDestructiveMigration(ctx context.Context, pass *axes.Pass) error {
	for _, fd := range pass.ChangedFiles() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fd.Binary || !strings.EqualFold(path.Ext(fd.NewPath), ".sql") || isDownMigration(fd.NewPath) || len(fd.Added) == 0 {
			continue
		}
		data := pass.ReadHeadFile(fd.NewPath)
		down := false
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			switch {
			case gooseDown.MatchString(line):
				down = true
				continue
			case gooseUp.MatchString(line):
				down = false
				continue
			}
			code := line
			if i := strings.Index(code, "--"); i >= 0 {
				code = code[:i]
			}
			if down || !pass.IsAdded(fd.NewPath, n) {
				continue
			}
			m := destructiveSQL.FindString(code)
			if m == "" {
				continue
			}
			pass.Report(axes.Finding{Path: fd.NewPath, Line: n, Message: fmt.Sprintf(
				"This migration runs %s, which destroys data and breaks the version still running during a deploy; first ship code that stops using it, then drop it in a later migration after a backup.",
				strings.Join(strings.Fields(strings.ToUpper(m)), " "))})
		}
	}
	return nil
}

// isDockerfile reports whether p names a Dockerfile or Containerfile.
func isDockerfile(p string) bool {
	b := strings.ToLower(path.Base(p))
	return b == "dockerfile" || b == "containerfile" || strings.HasPrefix(b, "dockerfile.") || strings.HasSuffix(b, ".dockerfile")
}

func isYAML(p string) bool {
	e := strings.ToLower(path.Ext(p))
	return e == ".yml" || e == ".yaml"
}

// imageTag splits an image reference into its name and tag; digest reports
// a pinned @sha256 reference.
func imageTag(ref string) (name, tag string, digest bool) {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[:i], "", true
	}
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash {
		return ref[:i], ref[i+1:], false
	}
	return ref, "", false
}

func runUnpinnedImage(ctx context.Context, pass *axes.Pass) error {
	for _, fd := range pass.ChangedFiles() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		docker, yaml := isDockerfile(fd.NewPath), isYAML(fd.NewPath)
		if fd.Binary || (!docker && !yaml) || len(fd.Added) == 0 {
			continue
		}
		data := pass.ReadHeadFile(fd.NewPath)
		stages := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for n := 1; sc.Scan(); n++ {
			var ref string
			if docker {
				m := fromLine.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				ref = m[1]
				known := stages[strings.ToLower(ref)]
				if m[2] != "" {
					stages[strings.ToLower(m[2])] = true
				}
				if known || strings.EqualFold(ref, "scratch") {
					continue
				}
			} else {
				m := yamlImage.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				ref = m[1]
			}
			if strings.Contains(ref, "$") || !pass.IsAdded(fd.NewPath, n) {
				continue
			}
			name, tag, digest := imageTag(ref)
			switch {
			case digest:
				continue
			case tag == "latest":
			case tag == "" && docker:
			default:
				continue
			}
			pass.Report(axes.Finding{Path: fd.NewPath, Line: n, Message: fmt.Sprintf(
				"Image %s is not pinned to a version, so each build may pull a different, possibly breaking image; use a specific tag such as %s:<version> (or a digest).",
				ref, name)})
		}
	}
	return nil
}
