// Package architecture holds the rules of the architecture axis: how a pull
// request shapes the code base's structure. It checks dependency direction
// between layers, new mutable package-level state, dead additions, panics in
// library code, I/O in init, dependency changes in go.mod, destructive
// schema migrations, unpinned container images and oversized pull requests.
//
// The Go rules work on the syntax tree alone (no type information), so they
// are written to stay quiet when they are unsure.
package architecture

import "github.com/fiveaxis/fiveaxis/axes"

// Checkers returns the architecture rules, in a stable order.
func Checkers() []*axes.Checker {
	return []*axes.Checker{
		ImportDirection,
		PackageMutableState,
		UnusedAddition,
		GoModChange,
		PanicInLibrary,
		ExitInLibrary,
		InitIO,
		PRTooLarge,
		DestructiveMigration,
		UnpinnedImage,
	}
}
