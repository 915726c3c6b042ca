package reviewer

import (
	"encoding/json"
	"io"
	"sort"
	"strings"

	"github.com/fiveaxis/fiveaxis/axes"
)

// SARIF 2.1.0 wire types: only the parts fiveaxis fills in.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool               sarifTool               `json:"tool"`
		Results            []sarifResult           `json:"results"`
		VersionControl     []sarifVersionControl   `json:"versionControlProvenance,omitempty"`
		Properties         map[string]any          `json:"properties,omitempty"`
		OriginalURIBaseIDs map[string]sarifBaseURI `json:"originalUriBaseIds,omitempty"`
	}
	sarifBaseURI struct {
		URI string `json:"uri"`
	}
	sarifVersionControl struct {
		RepositoryURI string `json:"repositoryUri,omitempty"`
		RevisionID    string `json:"revisionId"`
		Branch        string `json:"branch,omitempty"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		Version        string      `json:"version,omitempty"`
		InformationURI string      `json:"informationUri,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string         `json:"id"`
		ShortDescription     sarifText      `json:"shortDescription"`
		DefaultConfiguration sarifRuleConf  `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties,omitempty"`
	}
	sarifRuleConf struct {
		Level string `json:"level"`
	}
	sarifText struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID    string          `json:"ruleId"`
		RuleIndex int             `json:"ruleIndex"`
		Level     string          `json:"level"`
		Message   sarifText       `json:"message"`
		Locations []sarifLocation `json:"locations,omitempty"`
		Fixes     []sarifFix      `json:"fixes,omitempty"`
		Props     map[string]any  `json:"properties,omitempty"`
	}
	// sarifFix is a finding's suggestion: its lines replaced by the new text.
	sarifFix struct {
		Description     sarifText           `json:"description"`
		ArtifactChanges []sarifArtifactEdit `json:"artifactChanges"`
	}
	sarifArtifactEdit struct {
		ArtifactLocation sarifArtifact      `json:"artifactLocation"`
		Replacements     []sarifReplacement `json:"replacements"`
	}
	sarifReplacement struct {
		DeletedRegion   sarifRegion `json:"deletedRegion"`
		InsertedContent sarifText   `json:"insertedContent"`
	}
	sarifLocation struct {
		PhysicalLocation sarifPhysical `json:"physicalLocation"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId,omitempty"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
		EndLine   int `json:"endLine,omitempty"`
	}
)

func sarifLevel(s axes.Severity) string {
	switch s {
	case axes.SeverityError:
		return "error"
	case axes.SeverityWarning:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the review's findings as a SARIF 2.1.0 log, for upload
// to code-scanning tools. Rule descriptions come from the checkers when they
// are given, otherwise from the first finding of the rule.
func WriteSARIF(w io.Writer, r *Review, checkers []*axes.Checker) error {
	docs := map[string]*axes.Checker{}
	for _, c := range checkers {
		docs[c.Name] = c
	}
	findings := r.Findings()
	ids := map[string]int{}
	var names []string
	for _, f := range findings {
		if _, ok := ids[f.Rule]; !ok {
			ids[f.Rule] = 0
			names = append(names, f.Rule)
		}
	}
	sort.Strings(names)
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "fiveaxis", Version: r.Version, InformationURI: "https://github.com/fiveaxis/fiveaxis", Rules: []sarifRule{}}},
		Results: []sarifResult{},
		VersionControl: []sarifVersionControl{{
			RevisionID: r.Head.SHA, Branch: r.Head.Ref,
		}},
		OriginalURIBaseIDs: map[string]sarifBaseURI{"SRCROOT": {URI: "file:///"}},
		Properties: map[string]any{
			"verdict": r.Verdict, "base": r.Base, "merge_base": r.MergeBase,
			"behind": r.Drift.Behind, "conflicts": nonNil(r.Drift.Conflicts),
		},
	}
	for i, name := range names {
		ids[name] = i
		rule := sarifRule{ID: name, DefaultConfiguration: sarifRuleConf{Level: "warning"}}
		if c := docs[name]; c != nil {
			rule.ShortDescription = sarifText{Text: c.Title()}
			rule.DefaultConfiguration.Level = sarifLevel(c.Severity)
			rule.Properties = map[string]any{"axis": c.Axis}
		} else {
			for _, f := range findings {
				if f.Rule == name {
					rule.ShortDescription = sarifText{Text: f.Message}
					rule.Properties = map[string]any{"axis": f.Axis}
					break
				}
			}
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)
	}
	for _, f := range findings {
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: ids[f.Rule], Level: sarifLevel(f.Severity),
			Message: sarifText{Text: f.Message},
			Props:   map[string]any{"axis": f.Axis, "source": f.Source},
		}
		if f.Path != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: f.Path, URIBaseID: "SRCROOT"}}}
			if f.Line > 0 {
				_, end := f.Span()
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line, EndLine: end}
				if f.Suggestion != "" {
					// A line-only region covers whole lines without the last
					// newline, which the suggestion does not end with either.
					res.Fixes = []sarifFix{{
						Description: sarifText{Text: "Suggested change"},
						ArtifactChanges: []sarifArtifactEdit{{
							ArtifactLocation: loc.PhysicalLocation.ArtifactLocation,
							Replacements: []sarifReplacement{{
								DeletedRegion:   sarifRegion{StartLine: f.Line, EndLine: end},
								InsertedContent: sarifText{Text: strings.TrimRight(f.Suggestion, "\n")},
							}},
						}},
					}}
				}
			}
			res.Locations = []sarifLocation{loc}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
