package main

import (
	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/architecture"
)

// checkerSets lists the rule packages, in axis order. cmd passes the
// checkers explicitly; there is no init() registration.
var checkerSets = []func() []*axes.Checker{
	architecture.Checkers,
}
