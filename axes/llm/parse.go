package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// ModelFinding is one finding as the model states it, before validation.
type ModelFinding struct {
	Rule       string  `json:"rule"`
	Severity   string  `json:"severity"`
	Path       string  `json:"path"`
	Line       flexInt `json:"line"`
	EndLine    flexInt `json:"end_line"`
	Message    string  `json:"message"`
	Confidence string  `json:"confidence"`
}

// flexInt decodes a JSON number, or a string holding one, as local models
// often quote numbers.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*n = flexInt(f)
	return nil
}

// errMalformed is returned when a reply holds no findings object.
var errMalformed = errors.New("malformed model output")

type reply struct {
	Findings *[]ModelFinding `json:"findings"`
}

// parseReply extracts the findings from a model reply, tolerantly: the
// object may be wrapped in prose or a code fence, and a bare array of
// findings is accepted.
func parseReply(content string) ([]ModelFinding, error) {
	content = strings.TrimSpace(content)
	candidates := []string{content}
	if s := stripFence(content); s != content {
		candidates = append(candidates, s)
	}
	if i, j := strings.Index(content, "{"), strings.LastIndex(content, "}"); i >= 0 && j > i {
		candidates = append(candidates, content[i:j+1])
	}
	if i, j := strings.Index(content, "["), strings.LastIndex(content, "]"); i >= 0 && j > i {
		candidates = append(candidates, content[i:j+1])
	}
	for _, c := range candidates {
		if fs, ok := decode(c); ok {
			return fs, nil
		}
	}
	return nil, errMalformed
}

func decode(s string) ([]ModelFinding, bool) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if strings.HasPrefix(s, "[") {
		var fs []ModelFinding
		if err := dec.Decode(&fs); err != nil {
			return nil, false
		}
		return fs, true
	}
	var r reply
	if err := dec.Decode(&r); err != nil || r.Findings == nil {
		return nil, false
	}
	return *r.Findings, true
}

// stripFence removes a surrounding ``` or ```json fence.
func stripFence(s string) string {
	i := strings.Index(s, "```")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[nl+1:]
	}
	if j := strings.Index(rest, "```"); j >= 0 {
		rest = rest[:j]
	}
	return strings.TrimSpace(rest)
}
