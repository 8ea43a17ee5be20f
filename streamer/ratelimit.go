package streamer

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"time"
)

// bucket is a token bucket of bytes. wait reserves n tokens, going into
// debt if need be, and sleeps until the debt is paid: concurrent writers
// on one connection share the rate fairly.
type bucket struct {
	mu     sync.Mutex
	rate   float64 // bytes per second
	burst  float64
	tokens float64
	last   time.Time
	chunk  int
}

func newBucket(rate int64) *bucket {
	// Chunks of a tenth of a second keep the pace smooth; the bounds keep
	// writes efficient at high rates and responsive at low ones.
	chunk := int(min(max(rate/10, 1<<10), 64<<10))
	return &bucket{rate: float64(rate), burst: float64(chunk), tokens: float64(chunk), last: time.Now(), chunk: chunk}
}

func (b *bucket) wait(ctx context.Context, n int) error {
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens -= float64(n)
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		b.tokens = min(b.burst, b.tokens+float64(n)) // give back what was not sent
		b.mu.Unlock()
		return ctx.Err()
	}
}

// connLimits shares one bucket among the requests of a connection, known
// by its remote address (unique per TCP connection; HTTP/2 streams of one
// connection share it). Entries live while a request uses them.
type connLimits struct {
	rate  int64
	mu    sync.Mutex
	conns map[string]*connBucket
}

type connBucket struct {
	b    *bucket
	refs int
}

func newConnLimits(rate int64) *connLimits {
	return &connLimits{rate: rate, conns: map[string]*connBucket{}}
}

func (l *connLimits) acquire(addr string) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	cb, ok := l.conns[addr]
	if !ok {
		cb = &connBucket{b: newBucket(l.rate)}
		l.conns[addr] = cb
	}
	cb.refs++
	return cb.b
}

func (l *connLimits) release(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cb, ok := l.conns[addr]; ok {
		if cb.refs--; cb.refs <= 0 {
			delete(l.conns, addr)
		}
	}
}

func (l *connLimits) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// bodyWriter paces a response body by its connection's bucket (when there
// is one) and counts the bytes sent. Every byte goes through its Write,
// which holds the pace: its ReadFrom (what http.ServeContent's copy
// calls) hands an object in memory (memBody) to Write in one piece, with
// no copy through a buffer, and copies anything else through a pooled
// buffer into Write. It never reaches the connection's own ReadFrom
// (sendfile), which would skip the pace.
type bodyWriter struct {
	http.ResponseWriter
	ctx context.Context
	b   *bucket
	n   int64
}

func (w *bodyWriter) Write(p []byte) (int, error) {
	if w.b == nil {
		n, err := w.ResponseWriter.Write(p)
		w.n += int64(n)
		return n, err
	}
	total := 0
	for len(p) > 0 {
		c := min(len(p), w.b.chunk)
		if err := w.b.wait(w.ctx, c); err != nil {
			return total, err
		}
		n, err := w.ResponseWriter.Write(p[:c])
		total += n
		w.n += int64(n)
		if err != nil {
			return total, err
		}
		p = p[c:]
	}
	return total, nil
}

// ReadFrom sends what r holds. For a memBody, possibly behind the
// io.LimitedReader of http.ServeContent's io.CopyN, that is the slice
// from the reader's offset in a single Write: without a rate cap one
// write to the connection, as a plain Go server makes, where a copy
// through a 32 KiB buffer meant a memmove and a syscall per 32 KiB.
func (w *bodyWriter) ReadFrom(r io.Reader) (int64, error) {
	src, lr := r, (*io.LimitedReader)(nil)
	if l, ok := r.(*io.LimitedReader); ok {
		src, lr = l.R, l
	}
	if m, ok := src.(*memBody); ok {
		pos, _ := m.Seek(0, io.SeekCurrent)
		var p []byte
		if pos < int64(len(m.data)) {
			p = m.data[pos:]
		}
		if lr != nil && int64(len(p)) > lr.N {
			p = p[:max(lr.N, 0)]
		}
		n, err := w.Write(p)
		if _, serr := m.Seek(pos+int64(n), io.SeekStart); serr != nil && err == nil {
			err = serr
		}
		if lr != nil {
			lr.N -= int64(n)
		}
		return int64(n), err
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	return io.CopyBuffer(writerOnly{w}, r, *bp)
}

// writerOnly hides bodyWriter's ReadFrom from io.CopyBuffer.
type writerOnly struct{ io.Writer }

// copyBuffers are the buffers of objects streamed from the store.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// memBody is an object in memory for http.ServeContent (which seeks and
// reads it as it would any io.ReadSeeker); bodyWriter.ReadFrom recognises
// it and writes the slice itself.
type memBody struct {
	bytes.Reader
	data []byte
}

func newMemBody(b []byte) *memBody {
	m := &memBody{data: b}
	m.Reader.Reset(b)
	return m
}

// Unwrap lets http.ResponseController reach the connection.
func (w *bodyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through, for clients that want bytes as they come.
func (w *bodyWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// body wraps w for one response of kind; done records the bytes and
// releases the connection's bucket.
func (s *server) body(w http.ResponseWriter, r *http.Request, kind string) (*bodyWriter, func()) {
	bw := &bodyWriter{ResponseWriter: w, ctx: r.Context()}
	if s.limits != nil {
		bw.b = s.limits.acquire(r.RemoteAddr)
	}
	return bw, func() {
		if s.limits != nil {
			s.limits.release(r.RemoteAddr)
		}
		s.metrics.BytesServed(kind, bw.n)
	}
}
