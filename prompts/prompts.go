// Package prompts owns the LLM prompt templates of fiveaxis: a system prompt,
// one template per review axis, the user message that carries the pull
// request as delimited data, and the repair prompt for malformed replies. The
// templates are embedded with go:embed and versioned by Version; anything that
// caches model output must include Version in its key.
//
// The package imports nothing from the rest of the project: callers pass
// plain strings and get plain messages back.
package prompts

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
)

// Version identifies the templates and the rendering. Bump it whenever a
// template, the schema or FormatHunk changes, so that cached model output
// made with older prompts is not reused.
const Version = "fiveaxis-prompts/4"

//go:embed templates/*.tmpl
var templateFS embed.FS

// templates are parsed once; they are read-only afterwards.
var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"inc": func(i int) int { return i + 1 },
}).ParseFS(templateFS, "templates/*.tmpl"))

// Message roles.
const (
	RoleSystem = "system"
	RoleUser   = "user"
)

// Message is one chat message.
type Message struct {
	Role    string
	Content string
}

// PR is the pull request's own text. It is data, never instructions.
type PR struct {
	Title    string
	Body     string
	Comments []string
}

// File is one file's part of the diff, already formatted with FormatHunk.
type File struct {
	Path   string
	Status string // added, modified, renamed, ...
	Note   string // optional, e.g. "hunks 3-4 of 9"
	Diff   string
}

// Request is what one model request reviews: one axis over some files.
type Request struct {
	Axis  string
	PR    PR
	Files []File
	// Schema says that the request carries the findings schema in
	// response_format, so the system prompt need not spell out the reply's
	// shape.
	Schema bool
}

// Axes lists the axes that have a template, in report order.
func Axes() []string {
	return []string{"correctness", "readability", "architecture", "security", "performance"}
}

// HasAxis reports whether axis has a template.
func HasAxis(axis string) bool {
	for _, a := range Axes() {
		if a == axis {
			return true
		}
	}
	return false
}

// Boundary returns the marker that delimits data sections: 64 bits of a
// hash of the data itself, so that the data cannot contain its own closing
// marker (forging it would need a text that contains its own hash) while the
// rendering stays deterministic. It is base64url: 11 characters, about 8
// tokens, against about 10 for the same bits in hex; every section pays
// for it twice.
func Boundary(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:8])
}

func execute(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return b.String(), nil
}

// Render returns the system and user messages for r.
func Render(r Request) ([]Message, error) {
	if !HasAxis(r.Axis) {
		return nil, fmt.Errorf("no prompt for axis %q", r.Axis)
	}
	parts := []string{r.PR.Title, r.PR.Body}
	parts = append(parts, r.PR.Comments...)
	for _, f := range r.Files {
		parts = append(parts, f.Path, f.Status, f.Note, f.Diff)
	}
	boundary := Boundary(parts...)
	axisText, err := execute(r.Axis+".tmpl", nil)
	if err != nil {
		return nil, err
	}
	sys, err := execute("system.tmpl", map[string]any{"Axis": r.Axis, "AxisText": axisText, "Boundary": boundary, "Schema": r.Schema})
	if err != nil {
		return nil, err
	}
	user, err := execute("user.tmpl", struct {
		Request
		Boundary string
	}{r, boundary})
	if err != nil {
		return nil, err
	}
	return []Message{{Role: RoleSystem, Content: sys}, {Role: RoleUser, Content: user}}, nil
}

// Repair returns the messages that ask the model to turn its malformed
// output into the findings schema. It resends only the output, not the diff,
// so a repair costs few tokens.
func Repair(output string) ([]Message, error) {
	user, err := execute("repair.tmpl", map[string]string{"Boundary": Boundary(output), "Output": output})
	if err != nil {
		return nil, err
	}
	return []Message{
		{Role: RoleSystem, Content: "You convert text to JSON. Reply with one JSON object only."},
		{Role: RoleUser, Content: user},
	}, nil
}

// SchemaName is the name of the findings schema in response_format.
const SchemaName = "fiveaxis_findings"

// Schema returns the JSON schema of a reply: {"findings": [...]}, each
// finding with rule, severity, path, line, end_line, message and confidence.
// Every property is required and no others are allowed, as OpenAI's strict
// structured outputs demand.
func Schema() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"findings":{"type":"array","items":{"type":"object","properties":{` +
		`"rule":{"type":"string"},` +
		`"severity":{"type":"string","enum":["error","warning","info"]},` +
		`"path":{"type":"string"},` +
		`"line":{"type":"integer"},` +
		`"end_line":{"type":"integer"},` +
		`"message":{"type":"string"},` +
		`"confidence":{"type":"string","enum":["high","medium","low"]}},` +
		`"required":["rule","severity","path","line","end_line","message","confidence"],"additionalProperties":false}}},` +
		`"required":["findings"],"additionalProperties":false}`)
}

// Hunk is one diff hunk as FormatHunk needs it.
type Hunk struct {
	OldStart, OldLines int
	NewStart, NewLines int
	Section            string
	Body               string // lines prefixed with ' ', '+' or '-'
}

// FormatHunk renders a hunk with the new-side line number in the first
// column of every added and context line, so that the model can cite lines:
//
//	@@ -10,3 +10,4 @@ func f
//	   10   ctx
//	   11 + added
//	      - removed
func FormatHunk(h Hunk) string {
	var b strings.Builder
	fmt.Fprintf(&b, "@@ -%d,%d +%d,%d @@", h.OldStart, h.OldLines, h.NewStart, h.NewLines)
	if h.Section != "" {
		b.WriteString(" " + h.Section)
	}
	b.WriteByte('\n')
	n := h.NewStart
	for _, l := range strings.Split(strings.TrimSuffix(h.Body, "\n"), "\n") {
		if l == "" {
			l = " "
		}
		switch l[0] {
		case '+':
			fmt.Fprintf(&b, "%5d + %s\n", n, l[1:])
			n++
		case '-':
			fmt.Fprintf(&b, "      - %s\n", l[1:])
		case '\\':
			// "\ No newline at end of file": not a line of either side.
		default:
			fmt.Fprintf(&b, "%5d   %s\n", n, l[1:])
			n++
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
