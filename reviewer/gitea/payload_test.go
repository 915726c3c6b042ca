package gitea_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fiveaxis/fiveaxis/reviewer/gitea"
)

func TestParseCommand(t *testing.T) {
	tests := map[string]string{
		"/review": gitea.CommandReview, "  /review\n": gitea.CommandReview, "/rebase-check": gitea.CommandRebaseCheck,
		"/review please": "", "please /review": "", "": "", "/REVIEW": "", "/reviews": "",
	}
	for body, want := range tests {
		if got := gitea.ParseCommand(body); got != want {
			t.Errorf("ParseCommand(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestDecodeEvent(t *testing.T) {
	repo := `"repository":{"full_name":"o/r"},"sender":{"login":"u"}`
	tests := []struct {
		event, body string
		wantErr     error
		kind        gitea.EventKind
	}{
		{"pull_request", `{"action":"opened","pull_request":{"number":3,"head":{"sha":"abc"},"base":{"ref":"main"}},` + repo + `}`, nil, gitea.EventPRChanged},
		{"pull_request", `{"action":"synchronized","number":3,"pull_request":{"head":{"sha":"abc"}},` + repo + `}`, nil, gitea.EventPRChanged},
		{"pull_request", `{"action":"edited","changes":{"ref":{"from":"main"}},"pull_request":{"number":3},` + repo + `}`, nil, gitea.EventPRChanged},
		{"pull_request", `{"action":"edited","changes":{"body":{"from":"x"}},"pull_request":{"number":3},` + repo + `}`, gitea.ErrUnhandled, ""},
		{"pull_request", `{"action":"closed","pull_request":{"number":3},` + repo + `}`, gitea.ErrUnhandled, ""},
		{"pull_request", `{"action":"opened",` + repo + `}`, gitea.ErrMalformed, ""},
		{"pull_request", `{"action":"opened","pull_request":{"number":0},` + repo + `}`, gitea.ErrMalformed, ""},
		{"pull_request", `{"action":"opened","pull_request":{"number":1},"repository":{"full_name":"../x"}}`, gitea.ErrMalformed, ""},
		{"pull_request", `[]`, gitea.ErrMalformed, ""},
		{"issue_comment", `{"action":"created","issue":{"number":4,"pull_request":{}},"comment":{"body":"/review"},` + repo + `}`, nil, gitea.EventCommand},
		{"issue_comment", `{"action":"created","is_pull":true,"issue":{"number":4},"comment":{"body":"/rebase-check"},` + repo + `}`, nil, gitea.EventCommand},
		{"issue_comment", `{"action":"created","issue":{"number":4,"pull_request":null},"comment":{"body":"/review"},` + repo + `}`, gitea.ErrUnhandled, ""},
		{"issue_comment", `{"action":"edited","is_pull":true,"issue":{"number":4},"comment":{"body":"/review"},` + repo + `}`, gitea.ErrUnhandled, ""},
		{"issue_comment", `{"action":"created","is_pull":true,"issue":{"number":4},"comment":{"body":"nice"},` + repo + `}`, gitea.ErrUnhandled, ""},
		{"push", `{}`, gitea.ErrUnhandled, ""},
	}
	for _, tt := range tests {
		t.Run(tt.event+" "+tt.body[:min(40, len(tt.body))], func(t *testing.T) {
			ev, err := gitea.DecodeEvent(tt.event, []byte(tt.body))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != tt.kind || ev.Repo != "o/r" || ev.Sender != "u" || ev.PR <= 0 {
				t.Errorf("event = %+v", ev)
			}
		})
	}
}

// FuzzDecodeEvent feeds arbitrary payloads to the decoder: it must never
// panic, and a decoded event must be complete.
func FuzzDecodeEvent(f *testing.F) {
	repo := `"repository":{"full_name":"o/r","name":"r","owner":{"login":"o"}},"sender":{"login":"u"}`
	for _, s := range []string{
		`{"action":"opened","number":1,"pull_request":{"number":1,"head":{"sha":"abc","ref":"f"},"base":{"ref":"main"}},` + repo + `}`,
		`{"action":"edited","changes":{"ref":{"from":"main"}},"pull_request":{"number":2},` + repo + `}`,
		`{"action":"created","is_pull":true,"issue":{"number":4,"pull_request":{}},"comment":{"body":"/review"},` + repo + `}`,
		`{"action":"created","issue":{"number":4},"comment":{"body":" /rebase-check "},` + repo + `}`,
		`{}`, `null`, `[]`, `{"repository":null}`, ``,
	} {
		f.Add("pull_request", []byte(s))
		f.Add("issue_comment", []byte(s))
	}
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		ev, err := gitea.DecodeEvent(event, body)
		if err != nil {
			if ev != nil {
				t.Fatal("an event with an error")
			}
			if !errors.Is(err, gitea.ErrUnhandled) && !errors.Is(err, gitea.ErrMalformed) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		owner, name, ok := strings.Cut(ev.Repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") || ev.PR <= 0 {
			t.Fatalf("incomplete event %+v", ev)
		}
		switch ev.Kind {
		case gitea.EventPRChanged:
			if event != "pull_request" || ev.Command != "" {
				t.Fatalf("bad PR event %+v from %q", ev, event)
			}
		case gitea.EventCommand:
			if event != "issue_comment" || gitea.ParseCommand(ev.Command) != ev.Command || ev.Command == "" {
				t.Fatalf("bad command event %+v", ev)
			}
		default:
			t.Fatalf("unknown kind %q", ev.Kind)
		}
	})
}
