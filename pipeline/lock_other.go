//go:build !unix

package pipeline

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked by a running job")

// lockFile without flock: a directory is never known to be abandoned, so
// sweepJobDirs removes nothing.
func lockFile(path string, create bool) (*os.File, error) {
	if create {
		return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return nil, errLocked
}
