//go:build unix

package pipeline

import (
	"errors"
	"os"
	"syscall"
)

var errLocked = errors.New("locked by a running job")

// lockFile opens path (creating it when create is set) and takes an
// exclusive flock on it without waiting: errLocked when another open file
// holds it, in this process or another.
func lockFile(path string, create bool) (*os.File, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, err
	}
	return f, nil
}
