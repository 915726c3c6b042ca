package reviewer

import (
	"encoding/json"
	"io"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/gitops"
)

// The wire types of the JSON contract, schema 1. Field order and names are
// the contract; change them only with a new schema version.
type (
	jsonReview struct {
		Schema    int         `json:"schema"`
		Verdict   Verdict     `json:"verdict"`
		Base      Ref         `json:"base"`
		Head      Ref         `json:"head"`
		MergeBase string      `json:"merge_base"`
		Diff      gitops.Stat `json:"diff"`
		Drift     jsonDrift   `json:"drift"`
		Axes      []jsonAxis  `json:"axes"`
		Notes     []string    `json:"notes,omitempty"`
	}
	jsonDrift struct {
		Behind    int         `json:"behind"`
		Ahead     int         `json:"ahead"`
		VsTarget  gitops.Stat `json:"vs_target"`
		Conflicts []string    `json:"conflicts"`
	}
	jsonAxis struct {
		Axis     axes.Axis     `json:"axis"`
		Status   Status        `json:"status"`
		Summary  string        `json:"summary"`
		Findings []jsonFinding `json:"findings"`
		Errors   []string      `json:"errors,omitempty"`
	}
	jsonFinding struct {
		Rule       string        `json:"rule"`
		Severity   axes.Severity `json:"severity"`
		Path       string        `json:"path"`
		Line       int           `json:"line"`
		EndLine    int           `json:"end_line"`
		Message    string        `json:"message"`
		Source     axes.Source   `json:"source"`
		Suggestion string        `json:"suggestion,omitempty"`
	}
)

// MarshalJSON encodes the review in the JSON contract, schema 1.
func (r *Review) MarshalJSON() ([]byte, error) {
	w := jsonReview{
		Schema: SchemaVersion, Verdict: r.Verdict, Base: r.Base, Head: r.Head,
		MergeBase: r.MergeBase, Diff: r.Diff,
		Drift: jsonDrift{Behind: r.Drift.Behind, Ahead: r.Drift.Ahead, VsTarget: r.Drift.VsTarget, Conflicts: r.Drift.Conflicts},
		Axes:  []jsonAxis{},
		Notes: r.Notes,
	}
	if w.Drift.Conflicts == nil {
		w.Drift.Conflicts = []string{}
	}
	for _, a := range r.Axes {
		ja := jsonAxis{Axis: a.Axis, Status: a.Status, Summary: a.Summary, Findings: []jsonFinding{}, Errors: a.Errors}
		for _, f := range a.Findings {
			_, end := f.Span()
			ja.Findings = append(ja.Findings, jsonFinding{
				Rule: f.Rule, Severity: f.Severity, Path: f.Path, Line: f.Line, EndLine: end,
				Message: f.Message, Source: f.Source, Suggestion: f.Suggestion,
			})
		}
		w.Axes = append(w.Axes, ja)
	}
	return json.Marshal(w)
}

// WriteJSON writes the review as indented JSON (schema 1) and a newline.
func WriteJSON(w io.Writer, r *Review) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
