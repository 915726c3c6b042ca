package main

import (
	"github.com/fiveaxis/fiveaxis/axes"
	"github.com/fiveaxis/fiveaxis/axes/architecture"
	"github.com/fiveaxis/fiveaxis/axes/correctness"
	"github.com/fiveaxis/fiveaxis/axes/performance"
	"github.com/fiveaxis/fiveaxis/axes/readability"
	"github.com/fiveaxis/fiveaxis/axes/security"
)

// checkerSets lists the rule packages, in axis order. cmd passes the
// checkers explicitly; there is no init() registration.
var checkerSets = []func() []*axes.Checker{
	correctness.Checkers,
	readability.Checkers,
	architecture.Checkers,
	security.Checkers,
	performance.Checkers,
}
