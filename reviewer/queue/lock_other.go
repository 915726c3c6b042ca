//go:build !unix

package queue

// lockFile is a no-op where flock is missing: run one worker process per
// SQLite database there.
func lockFile(string) (func(), error) { return func() {}, nil }
