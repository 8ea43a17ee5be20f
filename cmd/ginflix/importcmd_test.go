package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "ginflix-automation"
	testClientSecret = "s3cret-s3cret-s3cret"
)

// tinyClip makes a one-second clip with FFmpeg.
func tinyClip(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	gen := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1",
		"-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", p)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return p
}

type adminVideo struct {
	ID, Title, Description, Status string
	Tags                           []string
}

func adminGetVideo(t *testing.T, in *instance, base, tok, id string) adminVideo {
	t.Helper()
	res, body := in.get(t, base+"/api/admin/videos/"+id, "Authorization", "Bearer "+tok)
	var v adminVideo
	if res.StatusCode != 200 || json.Unmarshal(body, &v) != nil {
		t.Fatalf("GET /api/admin/videos/%s: %s %s", id, res.Status, body)
	}
	return v
}

var videoLine = regexp.MustCompile(`(?m)^(.+) → ([0-9a-f]{24})$`)

// TestImportEndToEnd runs "ginflix import" against a running server the
// way an admin's script would: credentials from the environment, the
// token by client credentials, the files by tus.
func TestImportEndToEnd(t *testing.T) {
	clip := tinyClip(t, "Mon clip.mp4")
	addr := freeAddr(t)
	base := "http://" + addr
	in := startServe(t, addr, t.TempDir(), map[string]string{
		"GINFLIX_AUTOMATION_CLIENT_ID": testClientID, "GINFLIX_AUTOMATION_CLIENT_SECRET": testClientSecret,
		"GINFLIX_WORKERS": "0",
	})
	in.waitReady(t, base)
	tok := automationToken(t, in, base)
	stateHome := t.TempDir()
	env := map[string]string{
		"GINFLIX_AUTOMATION_CLIENT_ID": testClientID, "GINFLIX_AUTOMATION_CLIENT_SECRET": testClientSecret,
		"XDG_STATE_HOME": stateHome, "HOME": t.TempDir(),
	}
	importCmd := func(env map[string]string, args ...string) (string, string, error) {
		var stdout, stderr strings.Builder
		err := run(t.Context(), append([]string{"ginflix", "import"}, args...), envOf(env), strings.NewReader(""), &stdout, &stderr)
		out, errOut := stdout.String(), stderr.String()
		for _, secret := range []string{testClientSecret, tok[:20]} {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("the secret or a token reached the output:\n%s\n%s", out, errOut)
			}
		}
		return out, errOut, err
	}

	t.Run("one file", func(t *testing.T) {
		stdout, stderr, err := importCmd(env, "--server", base, "--title", "Démo « import »", "--tags", "test, Démo", "--description", "Une description.", clip)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		m := videoLine.FindAllStringSubmatch(stdout, -1)
		if len(m) != 1 || m[0][1] != clip {
			t.Fatalf("stdout %q", stdout)
		}
		v := adminGetVideo(t, in, base, tok, m[0][2])
		if v.Title != "Démo « import »" || v.Description != "Une description." || !slices.Equal(v.Tags, []string{"test", "démo"}) {
			t.Errorf("video %+v", v)
		}
		if !strings.Contains(stderr, "100 %") || !strings.Contains(stderr, "Mon clip.mp4: uploading") || strings.Contains(stderr, "\r") {
			t.Errorf("progress on stderr (not a terminal):\n%s", stderr)
		}
		if _, err := os.Stat(filepath.Join(stateHome, "ginflix", "uploads.json")); !os.IsNotExist(err) {
			t.Errorf("the state file is left after success: %v", err)
		}
	})

	t.Run("a missing file fails, the others are imported", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "absent.mp4")
		other := tinyClip(t, "autre.mov")
		// Credentials from a file this time, server from the environment.
		secretFile := filepath.Join(t.TempDir(), "secret")
		os.WriteFile(secretFile, []byte(testClientSecret+"\n"), 0o600)
		env := map[string]string{"GINFLIX_AUTOMATION_CLIENT_ID": testClientID, "GINFLIX_AUTOMATION_CLIENT_SECRET_FILE": secretFile,
			"GINFLIX_SERVER": base + "/", "GINFLIX_UPLOAD_STATE_FILE": filepath.Join(t.TempDir(), "state.json")}
		stdout, stderr, err := importCmd(env, missing, other)
		if err == nil || !strings.Contains(err.Error(), "1 of 2 file(s) failed") {
			t.Fatalf("error %v\n%s", err, stderr)
		}
		if !strings.Contains(stderr, "absent.mp4: open ") {
			t.Errorf("stderr does not say what failed:\n%s", stderr)
		}
		m := videoLine.FindAllStringSubmatch(stdout, -1)
		if len(m) != 1 || m[0][1] != other {
			t.Fatalf("stdout %q", stdout)
		}
		if v := adminGetVideo(t, in, base, tok, m[0][2]); v.Title != "autre" {
			t.Errorf("video %+v", v)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		notVideo := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(notVideo, []byte("pas une vidéo"), 0o644)
		_, stderr, err := importCmd(env, "--server", base, notVideo)
		if err == nil || !strings.Contains(stderr, "is not an accepted video file") {
			t.Errorf("a text file: %v\n%s", err, stderr)
		}
		wrong := filepath.Join(t.TempDir(), "secret")
		os.WriteFile(wrong, []byte("wrong-secret-wrong-secret"), 0o600)
		_, _, err = importCmd(env, "--server", base, "--client-secret-file", wrong, clip)
		if err == nil || !strings.Contains(err.Error(), "refused client") {
			t.Errorf("a wrong secret: %v", err)
		}
		_, _, err = importCmd(env, "--server", "http://"+freeAddr(t), clip)
		if err == nil || !strings.Contains(err.Error(), "is Ginflix running") {
			t.Errorf("no server: %v", err)
		}
	})

	t.Run("demo", func(t *testing.T) {
		stdout, stderr, err := func() (string, string, error) {
			var stdout, stderr strings.Builder
			err := run(t.Context(), []string{"ginflix", "demo", "--server", base, "--duration", "1s"}, envOf(env), strings.NewReader(""), &stdout, &stderr)
			return stdout.String(), stderr.String(), err
		}()
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		m := videoLine.FindAllStringSubmatch(stdout, -1)
		if len(m) != len(demoClips) {
			t.Fatalf("stdout %q", stdout)
		}
		for i, c := range demoClips {
			v := adminGetVideo(t, in, base, tok, m[i][2])
			if m[i][1] != c.title || v.Title != c.title || !slices.Contains(v.Tags, "démo") {
				t.Errorf("clip %d: %q → %+v", i, m[i][1], v)
			}
		}
	})
}

func TestImportArguments(t *testing.T) {
	env := map[string]string{"GINFLIX_AUTOMATION_CLIENT_ID": "x", "GINFLIX_AUTOMATION_CLIENT_SECRET": "y"}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{env, nil, "at least one file"},
		{env, []string{"--title", "T", "a.mp4", "b.mp4"}, "--title names one video"},
		{nil, []string{"a.mp4"}, "no automation client"},
		{map[string]string{"GINFLIX_AUTOMATION_CLIENT_ID": "x"}, []string{"a.mp4"}, "no client secret"},
		{map[string]string{"GINFLIX_AUTOMATION_CLIENT_ID": "x", "GINFLIX_AUTOMATION_CLIENT_SECRET": "y", "GINFLIX_AUTOMATION_CLIENT_SECRET_FILE": "f"}, []string{"a.mp4"}, "set one"},
		{env, []string{"--client-secret-file", "/nonexistent/secret", "a.mp4"}, "--client-secret-file"},
		{env, []string{"--server", "ftp://x", "a.mp4"}, "not an http(s) URL"},
		{env, []string{"--bogus"}, "bogus"},
	} {
		_, _, err := runCmd2(t, tc.env, append([]string{"import"}, tc.args...)...)
		wantErr(t, err, tc.want)
	}
	stdout, _, err := runCmd2(t, nil, "import", "--help")
	if err != nil || !strings.Contains(stdout, "ginflix import [flags] FILE...") {
		t.Errorf("import --help: %v %q", err, stdout)
	}
	stdout, _, err = runCmd2(t, nil, "demo", "--help")
	if err != nil || !strings.Contains(stdout, "ginflix demo [flags]") {
		t.Errorf("demo --help: %v %q", err, stdout)
	}
	_, _, err = runCmd2(t, env, "demo", "--duration", "1ms")
	wantErr(t, err, "--duration")
}

func runCmd2(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr strings.Builder
	err := run(t.Context(), append([]string{"ginflix"}, args...), envOf(env), strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// TestClientCredentialsRenewal: the token is reused until shortly before
// it expires, then renewed; errors name the client, never the secret.
func TestClientCredentialsRenewal(t *testing.T) {
	var issued atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "my+client" || secret != "p%40ss+word" || r.FormValue("grant_type") != "client_credentials" {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"invalid_client","error_description":"bad credentials"}`))
			return
		}
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"tok-` + string(rune('0'+n)) + `","token_type":"Bearer","expires_in":300}`))
	}))
	defer srv.Close()
	now := time.Now()
	cc := &clientCredentials{hc: srv.Client(), tokenURL: srv.URL, id: "my client", secret: "p@ss word", now: func() time.Time { return now }}
	get := func() string {
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if a, b := get(), get(); a != "tok-1" || b != "tok-1" {
		t.Errorf("tokens %q %q, want tok-1 twice", a, b)
	}
	now = now.Add(235 * time.Second)
	if tok := get(); tok != "tok-1" {
		t.Errorf("renewed too early: %q", tok)
	}
	now = now.Add(10 * time.Second) // 245 s of 300: within the last minute
	if tok := get(); tok != "tok-2" {
		t.Errorf("not renewed before expiry: %q", tok)
	}
	cc.secret = "the wrong one"
	cc.token = ""
	_, err := cc.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_client: bad credentials") || strings.Contains(err.Error(), "wrong one") {
		t.Errorf("refusal: %v", err)
	}
}

func TestProgressBar(t *testing.T) {
	var out strings.Builder
	now := time.Unix(1000, 0)
	p := newProgressBar(&out, "film.mkv", false)
	p.now = func() time.Time { return now }
	const total = 50_000_000
	for sent := int64(0); sent <= total; sent += total / 200 {
		p.update(sent, total)
		now = now.Add(10 * time.Millisecond)
	}
	p.finish(nil)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 11 || lines[0] != "film.mkv: uploading 50.0 MB" || !strings.HasPrefix(lines[10], "film.mkv 100 %  50.0 MB / 50.0 MB  25.0 MB/s") {
		t.Fatalf("%d lines:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[5], " 50 %  25.0 MB / 50.0 MB  25.0 MB/s  ETA 0:01") {
		t.Errorf("halfway: %q", lines[5])
	}

	// On a terminal: one line redrawn, at most ten times a second.
	out.Reset()
	p = newProgressBar(&out, "film.mkv", true)
	p.now = func() time.Time { return now }
	p.update(total/2, total) // resumed halfway
	for sent := int64(total / 2); sent <= total; sent += total / 100 {
		p.update(sent, total)
		now = now.Add(20 * time.Millisecond)
	}
	p.note("retrying in %v", time.Second)
	p.finish(nil)
	s := out.String()
	if n := strings.Count(s, "\r\x1b[K"); n < 8 || n > 20 || strings.Count(s, "\n") != 2 || !strings.Contains(s, "film.mkv: retrying in 1s\n") {
		t.Errorf("terminal output %q", s)
	}
	if !strings.HasSuffix(s, "100 %  50.0 MB / 50.0 MB  25.0 MB/s\n") {
		t.Errorf("final line %q", s[strings.LastIndex(s, "\r"):])
	}
}
