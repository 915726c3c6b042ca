package correctness

import (
	"strings"
	"testing"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
)

func TestValidate(t *testing.T) {
	if err := axes.Validate(Checkers()); err != nil {
		t.Fatal(err)
	}
}

func TestTitles(t *testing.T) {
	for _, c := range Checkers() {
		title := c.Title()
		if !strings.HasSuffix(title, ".") || len(title) > 80 || strings.Contains(title, "\n") {
			t.Errorf("%s: title %q should be one short sentence", c.Name, title)
		}
	}
}

func TestCheckers(t *testing.T) {
	axestest.Run(t, "testdata", Checkers()...)
}
