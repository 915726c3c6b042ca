package llm

import "testing"

func TestParseReply(t *testing.T) {
	tests := []struct {
		name, in string
		want     int // findings; -1 for an error
	}{
		{"object", `{"findings":[{"rule":"r","path":"a.go","line":1,"message":"m"}]}`, 1},
		{"empty", `{"findings":[]}`, 0},
		{"fenced", "```json\n{\"findings\":[{\"path\":\"a.go\",\"line\":\"2\"}]}\n```", 1},
		{"prose around", `Here: {"findings":[{"path":"a.go","line":3}]} done`, 1},
		{"bare array", `[{"path":"a.go","line":3},{"path":"b.go","line":4}]`, 2},
		{"no findings key", `{"verdict":"approve"}`, -1},
		{"prose", "The code looks good to me.", -1},
		{"truncated", `{"findings":[{"path":"a.go",`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := parseReply(tt.in)
			if tt.want < 0 {
				if err == nil {
					t.Errorf("want an error, got %v", fs)
				}
				return
			}
			if err != nil || len(fs) != tt.want {
				t.Errorf("got %v, %v; want %d findings", fs, err, tt.want)
			}
		})
	}
}

// FuzzParseReply feeds arbitrary model output to the parser: it must not
// panic, and whatever it accepts must re-parse.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{`{"findings":[]}`, "```json\n[]\n```", `{"findings":[{"line":"x"}]}`, "{", "[{]}", `{"findings":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := parseReply(s)
		if err == nil && fs == nil {
			t.Errorf("nil findings without an error for %q", s)
		}
	})
}
