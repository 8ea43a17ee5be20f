//go:build linux

package streamer

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ginflix/ginflix"
)

// acceptOne dials ln and returns the server's end of the connection.
func acceptOne(t *testing.T, ln net.Listener) net.Conn {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c := <-accepted
	if c == nil {
		t.FailNow()
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestListenerSetsUnsentLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	kernelDefault, err := unsentLimit(acceptOne(t, raw).(syscall.Conn))
	if err != nil {
		t.Fatal(err)
	}
	// Not a value a machine would have as its default.
	const limit = 96<<10 + 8
	if kernelDefault == limit {
		t.Fatalf("the kernel's default is already %d: the test would prove nothing", kernelDefault)
	}
	if Listener(raw, 0) != raw {
		t.Error("Listener(ln, 0) wraps ln; want ln as it is")
	}
	got, err := unsentLimit(acceptOne(t, Listener(raw, limit)).(syscall.Conn))
	if err != nil {
		t.Fatal(err)
	}
	if got != limit {
		t.Errorf("TCP_NOTSENT_LOWAT = %d, want %d (kernel default %d)", got, limit, kernelDefault)
	}
}

// With a small unsent limit every segment goes out in many partial
// writes; a slow reader must still get every byte, in order.
func TestListenerSegmentsArriveWhole(t *testing.T) {
	e := newEnv(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.h}
	go srv.Serve(Listener(raw, 16<<10))
	defer srv.Close()

	var wg sync.WaitGroup
	for _, name := range []string{"1080p/seg_00000.m4s", "1080p/seg_00002.m4s", "360p/seg_00001.m4s"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get("http://" + raw.Addr().String() + e.seg(vid, name))
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			var got bytes.Buffer
			buf := make([]byte, 32<<10)
			for {
				n, err := res.Body.Read(buf)
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Error(err)
					return
				}
				time.Sleep(100 * time.Microsecond) // a reader slower than loopback
			}
			if want := e.objects[ginflix.HLSPrefix(vid)+name]; res.StatusCode != http.StatusOK || !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s: status %d, %d bytes, want 200 and the %d stored bytes", name, res.StatusCode, got.Len(), len(want))
			}
		}()
	}
	wg.Wait()
}
