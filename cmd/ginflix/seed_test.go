package main

import (
	"encoding/json"
	"testing"
	"time"
)

// TestDemoSeedsAnEmptyCatalogue: serve --demo (make run) queues the demo
// clips on a first start and publishes them as they become ready.
func TestDemoSeedsAnEmptyCatalogue(t *testing.T) {
	addr := freeAddr(t)
	base := "http://" + addr
	in := startServe(t, addr, t.TempDir(), map[string]string{"GINFLIX_DEMO": "true"})
	in.waitReady(t, base)
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, body := in.get(t, base+"/api/videos")
		var l struct {
			Items []struct{ Title, PosterURL string }
		}
		if err := json.Unmarshal(body, &l); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if len(l.Items) > 0 {
			if l.Items[0].PosterURL == "" {
				t.Fatalf("a published demo video without a poster: %+v", l.Items[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no demo video published after 90 s\n%s", in.stderr.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}
