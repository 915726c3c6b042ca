// Package correctness holds the rules of the correctness axis: code that
// does the wrong thing at run time, such as goroutines a test never waits
// for, dropped errors, leaked HTTP bodies and contexts, races on maps and
// unchecked type assertions on decoded data.
//
// The rules read the Go AST of the head revision only (no type
// information), so each one matches a narrow, well-known shape and prefers
// silence to a guess.
package correctness

import "github.com/fiveaxis/fiveaxis/axes"

// Checkers returns the correctness rules.
func Checkers() []*axes.Checker {
	return []*axes.Checker{
		TestGoroutineNotJoined,
		DiscardedError,
		WGAddInGoroutine,
		GoroutineErrorDropped,
		DeferInLoop,
		UncheckedTypeAssertion,
		ContextBackgroundWithCtx,
		LostCancel,
		HTTPBodyNotClosed,
		SleepInTest,
		MapWriteInGoroutines,
		NilErrorAfterCheck,
		SQLRowsNotClosed,
		RowsErrUnchecked,
		LockHeldOnReturn,
		MutexCopy,
		NilMapWrite,
		SharedWriteInGoroutines,
	}
}
