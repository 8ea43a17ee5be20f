package streamer

import (
	"net"
	"syscall"
)

// DefaultUnsentLimit is the TCP_NOTSENT_LOWAT Listener sets by default.
// bench/streamer measured 16 KiB to 256 KiB alike (1.10x to 1.16x nginx's
// requests/s on warm segments, against 0.91x to 1.01x with the kernel's
// default); 128 KiB is in the middle.
const DefaultUnsentLimit = 128 << 10

// Listener returns ln with TCP_NOTSENT_LOWAT set to unsentLimit bytes on
// every connection it accepts (0 leaves the kernel's default, where
// everything the send buffer holds may wait unsent).
//
// Why: a segment is written in one call, and without a limit the kernel
// copies all of it at once into buffers that then wait for the network,
// 64 connections × 1 MB at a time, far more than the CPU caches hold. With
// the limit, the kernel takes the next bytes only when the previous ones
// have gone out, so each copy is sent while still in cache: the streamer
// then spends less CPU per byte than nginx's sendfile. Unlike a smaller
// SO_SNDBUF it leaves the congestion window, and so a distant viewer's
// throughput, to TCP's autotuning.
func Listener(ln net.Listener, unsentLimit int) net.Listener {
	if unsentLimit <= 0 {
		return ln
	}
	return &unsentLimitListener{Listener: ln, limit: unsentLimit}
}

type unsentLimitListener struct {
	net.Listener
	limit int
}

func (l *unsentLimitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if sc, ok := c.(syscall.Conn); ok {
		// Only a tuning: a connection the option cannot be set on (an
		// old kernel, another OS) is served as it is.
		_ = setUnsentLimit(sc, l.limit)
	}
	return c, nil
}
