package performance

import (
	"testing"

	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/axestest"
)

func TestValidate(t *testing.T) {
	if err := axes.Validate(Checkers()); err != nil {
		t.Fatal(err)
	}
}

func TestCheckers(t *testing.T) {
	axestest.Run(t, "testdata", Checkers()...)
}
