package main

import "github.com/fiveaxis/fiveaxis/axes"

// checkerSets lists the rule packages, in axis order. cmd passes the
// checkers explicitly; there is no init() registration.
var checkerSets = []func() []*axes.Checker{}
