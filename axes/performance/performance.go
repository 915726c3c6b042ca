// Package performance holds the rules of the performance axis: work that a
// pull request repeats needlessly (regular expressions and templates
// compiled per call, queries per loop item, strings rebuilt with +=,
// loop-invariant marshalling and sorting, slices regrown while filled) and
// resources it leaves unbounded (goroutines per item, request bodies read
// without a limit).
//
// The rules work on the syntax tree alone (no type information), so they
// prefer silence when unsure.
package performance

import "github.com/fiveaxis/fiveaxis/axes"

// Checkers returns the performance rules, in a stable order.
func Checkers() []*axes.Checker {
	return []*axes.Checker{
		RegexpCompilePerCall,
		NPlusOne,
		StringConcatInLoop,
		GoroutinePerItem,
		ReadAllUnboundedBody,
		AppendKnownSize,
		MarshalOrSortInLoop,
	}
}
