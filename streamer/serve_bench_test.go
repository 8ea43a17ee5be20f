package streamer

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The handler's own cost per request, from memory: go test -bench Serve
// -benchmem ./streamer (the bench/streamer command measures it over real
// connections against nginx).
func BenchmarkServe(b *testing.B) {
	e := newEnv(b, func(d *Deps) { d.MaxCachedObject = 4 * mb })
	tok := e.signer.SignViewer(vid, "bench", 100*time.Hour)
	for _, c := range []struct{ name, target string }{
		{"segment", e.seg(vid, "1080p/seg_00002.m4s")},
		{"media", "/stream/videos/" + vid + "/360p/index.m3u8?token=" + tok},
		{"master", "/stream/videos/" + vid + "/master.m3u8?token=" + tok},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, c.target, nil)
			w := &discard{}
			e.h.ServeHTTP(w, r)
			if w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := &discard{}
				e.h.ServeHTTP(w, r)
			}
		})
	}
}
