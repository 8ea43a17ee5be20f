package streamer

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/ginflix/ginflix"
)

// errStoreTimeout is the cause of a store call cut short by StoreTimeout.
var errStoreTimeout = errors.New("object store call timed out")

// storeBody is an object's body whose every Read is bounded by a stall
// deadline: a store that stops sending mid-object fails the read instead
// of hanging the request (and, for cache fills, the waiters) forever.
// Time spent between reads, e.g. while a slow client drains the response,
// does not count.
type storeBody struct {
	rc      io.ReadCloser
	timeout time.Duration
	cancel  context.CancelCauseFunc
	timer   *time.Timer
	once    sync.Once
}

func newStoreBody(rc io.ReadCloser, timeout time.Duration, cancel context.CancelCauseFunc) *storeBody {
	b := &storeBody{rc: rc, timeout: timeout, cancel: cancel}
	b.timer = time.AfterFunc(time.Hour, func() { cancel(errStoreTimeout) })
	b.timer.Stop()
	return b
}

func (b *storeBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.rc.Read(p)
	stopped := b.timer.Stop()
	if err != nil && err != io.EOF {
		if !stopped {
			err = errStoreTimeout
		}
		return n, storeError(err)
	}
	return n, err
}

func (b *storeBody) Close() error {
	var err error
	b.once.Do(func() {
		b.timer.Stop()
		err = b.rc.Close()
		b.cancel(context.Canceled)
	})
	return err
}

// lazyObject is an io.ReadSeeker over an object too big to cache, for
// http.ServeContent: seeking is free, reading opens a ranged Get at the
// current offset (or keeps using the one already open there).
type lazyObject struct {
	s    *server
	ctx  context.Context
	key  string
	size int64
	etag string // of the info ServeContent's headers describe

	off     int64 // where the next Read reads
	body    *storeBody
	bodyOff int64 // where body's next byte comes from
	bodyEnd int64 // last byte body covers (inclusive)
}

// openAt opens the store at [start, end] before ServeContent writes any
// header, so that an outage is still a clean 503. It returns the fresh
// info: when the object changed since the size was learnt, the caller
// starts again with it.
func (o *lazyObject) openAt(start, end int64) (ginflix.ObjectInfo, error) {
	o.closeBody()
	body, info, err := o.s.open(o.ctx, o.key, &ginflix.ByteRange{Start: start, End: end})
	if err != nil {
		return info, err
	}
	if info.Size != o.size || info.ETag != o.etag {
		body.Close()
		return info, errChanged
	}
	o.body, o.bodyOff, o.bodyEnd, o.off = body, start, end, start
	return info, nil
}

var errChanged = errors.New("object changed while being served")

func (o *lazyObject) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.size
	default:
		return 0, errors.New("lazyObject: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("lazyObject: negative position")
	}
	o.off = offset
	return offset, nil
}

func (o *lazyObject) Read(p []byte) (int, error) {
	if o.off >= o.size {
		return 0, io.EOF
	}
	if o.body == nil || o.bodyOff != o.off || o.bodyOff > o.bodyEnd {
		o.closeBody()
		body, info, err := o.s.open(o.ctx, o.key, &ginflix.ByteRange{Start: o.off, End: -1})
		if err != nil {
			return 0, err
		}
		if info.ETag != o.etag {
			// Headers are out already; mixing two versions would be worse
			// than a cut response.
			body.Close()
			return 0, errChanged
		}
		o.body, o.bodyOff, o.bodyEnd = body, o.off, o.size-1
	}
	if left := o.bodyEnd - o.bodyOff + 1; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := o.body.Read(p)
	o.off += int64(n)
	o.bodyOff += int64(n)
	if err == io.EOF {
		o.closeBody()
		if o.off < o.size && n == 0 {
			return 0, io.ErrUnexpectedEOF
		}
		err = nil
	}
	return n, err
}

func (o *lazyObject) closeBody() {
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
}

// Close releases the open read, if any.
func (o *lazyObject) Close() error {
	o.closeBody()
	return nil
}
