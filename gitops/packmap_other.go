//go:build !unix

package gitops

import "os"

// mapFile reads the file at path into memory (no mmap on this platform).
func mapFile(path string) ([]byte, func() error, error) {
	data, err := os.ReadFile(path)
	return data, nil, err
}
