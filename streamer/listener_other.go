//go:build !linux

package streamer

import (
	"errors"
	"syscall"
)

var errNoUnsentLimit = errors.New("TCP_NOTSENT_LOWAT is set on Linux only")

func setUnsentLimit(syscall.Conn, int) error { return errNoUnsentLimit }

func unsentLimit(syscall.Conn) (int, error) { return 0, errNoUnsentLimit }
