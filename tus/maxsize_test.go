package tus

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
)

// An admin's upload limit applies to the next upload, without a new handler.
func TestMaxSizeFunc(t *testing.T) {
	var limit atomic.Int64
	limit.Store(4 * mib)
	e := newEnv(t, func(c *Config) {
		c.MaxSize = 0 // the ceiling becomes ginflix.MaxUploadLimit
		c.MaxSizeFunc = func(context.Context) int64 { return limit.Load() }
	})
	if r := e.do("OPTIONS", "/api/uploads/", nil, nil); r.Header.Get("Tus-Max-Size") != strconv.Itoa(4*mib) {
		t.Fatalf("OPTIONS announces Tus-Max-Size %q, want the limit in force", r.Header.Get("Tus-Max-Size"))
	}
	meta := encodeMeta(map[string]string{"filename": "a.mp4"})
	post := func(size int) resp {
		return e.do("POST", "/api/uploads/", map[string]string{"Upload-Length": strconv.Itoa(size), "Upload-Metadata": meta}, nil)
	}
	if r := post(4*mib + 1); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("over the limit: %d %s", r.Status, r.Body)
	}
	if r := post(4 * mib); r.Status != http.StatusCreated {
		t.Fatalf("at the limit: %d %s", r.Status, r.Body)
	}
	// Raised above what MaxSize alone (8 MiB in the other tests) would allow.
	limit.Store(16 * mib)
	if r := post(12 * mib); r.Status != http.StatusCreated {
		t.Fatalf("after raising the limit: %d %s", r.Status, r.Body)
	}
	limit.Store(1 * mib)
	if r := post(2 * mib); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("after lowering the limit: %d %s", r.Status, r.Body)
	}

	// A deferred length meets the limit when the bytes come.
	r := e.do("POST", "/api/uploads/", map[string]string{"Upload-Defer-Length": "1", "Upload-Metadata": meta}, nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("deferred POST: %d %s", r.Status, r.Body)
	}
	loc := r.Header.Get("Location")
	if r := e.patch(loc, 0, make([]byte, 512<<10), nil); r.Status != http.StatusNoContent {
		t.Fatalf("PATCH within the limit: %d %s", r.Status, r.Body)
	}
	if r := e.patch(loc, 512<<10, make([]byte, 600<<10), nil); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("PATCH past the limit: %d %s", r.Status, r.Body)
	}
	if r := e.patch(loc, 512<<10, make([]byte, 10), map[string]string{"Upload-Length": strconv.Itoa(2 * mib)}); r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared length past the limit: %d %s", r.Status, r.Body)
	}
}
