package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// automationToken gets a token by client credentials from the built-in
// provider of the instance at base.
func automationToken(t *testing.T, in *instance, base string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/oidc/oauth/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("ginflix-automation", "s3cret-s3cret-s3cret")
	res, err := in.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("client credentials: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

// TestUploadToReadyEndToEnd uploads a clip with the tus protocol as an
// admin script would, and follows it to a ready video.
func TestUploadToReadyEndToEnd(t *testing.T) {
	src := filepath.Join(t.TempDir(), "clip.mp4")
	gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=3",
		"-f", "lavfi", "-i", "sine=duration=3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", src)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	dataDir := t.TempDir()
	in := startServe(t, addr, dataDir, map[string]string{
		"GINFLIX_AUTOMATION_CLIENT_ID": "ginflix-automation", "GINFLIX_AUTOMATION_CLIENT_SECRET": "s3cret-s3cret-s3cret",
		"GINFLIX_AUTO_PUBLISH": "true",
	})
	in.waitReady(t, base)
	tok := automationToken(t, in, base)

	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	create := func(token string) *http.Response {
		req, _ := http.NewRequest("POST", base+"/api/uploads/", nil)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Length", itoa(len(data)))
		req.Header.Set("Upload-Metadata", "filename "+b64("Démo «test».mp4")+",title "+b64("Démo")+",tags "+b64("test,démo"))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := in.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := create(""); res.StatusCode != 401 {
		t.Fatalf("upload without a token: %s", res.Status)
	}
	if entries, _ := os.ReadDir(filepath.Join(dataDir, "uploads")); len(entries) != 0 {
		t.Fatalf("a refused upload stored something: %v", entries)
	}
	res := create(tok)
	loc := res.Header.Get("Location")
	if res.StatusCode != 201 || loc == "" {
		t.Fatalf("create: %s", res.Status)
	}
	if !strings.HasPrefix(loc, "http") {
		loc = base + loc
	}
	var videoID string
	for off := 0; off < len(data); {
		end := min(off+len(data)/2+1, len(data))
		req, _ := http.NewRequest("PATCH", loc, bytes.NewReader(data[off:end]))
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Upload-Offset", itoa(off))
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := in.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 204 {
			t.Fatalf("PATCH at %d: %s", off, res.Status)
		}
		videoID = res.Header.Get("Ginflix-Video-Id")
		off = end
	}
	if videoID == "" {
		t.Fatal("the last PATCH named no video")
	}
	deadline := time.Now().Add(60 * time.Second)
	var v struct {
		Status, Title, Error string
		Published            bool
		Tags                 []string
		Renditions           []struct{ Name string }
	}
	for {
		_, body := in.get(t, base+"/api/admin/videos/"+videoID, "Authorization", "Bearer "+tok)
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if v.Status != "processing" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v.Status != "ready" || v.Title != "Démo" || !v.Published || len(v.Renditions) != 2 || len(v.Tags) != 2 {
		t.Fatalf("video after upload: %+v", v)
	}
	if res, body := in.get(t, base+"/api/videos/"+videoID, "Authorization", "Bearer "+tok); res.StatusCode != 200 {
		t.Fatalf("the published video in the catalogue: %s %s", res.Status, body)
	}
	// Play it: the playback URL, then the master, a media playlist and a
	// segment through the streamer, as hls.js would.
	req, _ := http.NewRequest("POST", base+"/api/videos/"+videoID+"/playback", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	pres, err := in.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pb struct{ URL string }
	json.NewDecoder(pres.Body).Decode(&pb)
	pres.Body.Close()
	if pres.StatusCode != 200 || !strings.HasPrefix(pb.URL, base+"/stream/videos/"+videoID+"/master.m3u8?token=") {
		t.Fatalf("playback: %s %q", pres.Status, pb.URL)
	}
	follow := func(from, ref string) string {
		u, _ := url.Parse(from)
		r, _ := url.Parse(ref)
		return u.ResolveReference(r).String()
	}
	firstURI := func(playlist string) string {
		for _, line := range strings.Split(playlist, "\n") {
			if line != "" && !strings.HasPrefix(line, "#") {
				return line
			}
		}
		t.Fatalf("no URI in\n%s", playlist)
		return ""
	}
	res, master := in.get(t, pb.URL)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" {
		t.Fatalf("master: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
	mediaURL := follow(pb.URL, firstURI(string(master)))
	res, media := in.get(t, mediaURL)
	if res.StatusCode != 200 || !strings.Contains(string(media), "#EXT-X-ENDLIST") {
		t.Fatalf("media playlist: %s\n%s", res.Status, media)
	}
	segURL := follow(mediaURL, firstURI(string(media)))
	res, seg := in.get(t, segURL)
	if res.StatusCode != 200 || len(seg) == 0 || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("segment %s: %s %q", segURL, res.Status, res.Header.Get("Cache-Control"))
	}
	if res, _ := in.get(t, strings.Split(pb.URL, "?")[0]); res.StatusCode != 401 {
		t.Fatalf("master without a token: %s", res.Status)
	}
	// Another player than hls.js: FFmpeg's HLS demuxer (strict about
	// extensions, URI resolution and fMP4) reads every rendition through
	// the tokens and decodes the whole clip.
	out, err := exec.Command("ffmpeg", "-v", "error", "-xerror", "-nostats", "-i", pb.URL, "-map", "0", "-f", "null", "-progress", "pipe:1", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg playing %s: %v\n%s", pb.URL, err, out)
	}
	var played time.Duration
	for _, line := range strings.Split(string(out), "\n") {
		if us, ok := strings.CutPrefix(line, "out_time_us="); ok {
			if n, err := strconv.ParseInt(us, 10, 64); err == nil {
				played = max(played, time.Duration(n)*time.Microsecond)
			}
		}
	}
	if played < 2500*time.Millisecond {
		t.Errorf("ffmpeg decoded %v of the 3 s clip:\n%s", played, out)
	}
	t.Logf("ffmpeg played %v through the streamer", played)
	forged := pb.URL[:len(pb.URL)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(pb.URL, "A")]
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", forged, "-map", "0", "-f", "null", "-").CombinedOutput(); err == nil {
		t.Errorf("ffmpeg played a master URL with a forged token:\n%s", out)
	}

	_, metrics := in.get(t, base+"/metrics")
	for _, want := range []string{`ginflix_uploads_total{outcome="succeeded"} 1`, "ginflix_upload_bytes_total ",
		`ginflix_job_duration_seconds_count{kind="transcode",result="succeeded"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
