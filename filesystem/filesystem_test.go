package filesystem

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/objectstoretest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	objectstoretest.Run(t, func(t *testing.T) ginflix.ObjectStore {
		s := newStore(t)
		// Whatever a subtest did, no upload may be left half-way.
		t.Cleanup(func() { assertNoTempFiles(t, s.Dir()) })
		return s
	})
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			t.Errorf("temp file left behind: %s", p)
		}
		return nil
	})
}

func TestNewCreatesRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("root not created: %v", err)
	}
	if _, err := New(""); ginflix.ErrorCode(err) != ginflix.EINVALID {
		t.Errorf("New(\"\") = %v, want EINVALID", err)
	}
}

func TestLayoutOnDisk(t *testing.T) {
	s := newStore(t)
	key := ginflix.HLSPrefix("v1") + "720p/seg_001.m4s"
	if err := s.Put(t.Context(), key, strings.NewReader("seg"), 3, ""); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(s.Dir(), "videos", "hls", "v1", "720p", "seg_001.m4s"))
	if err != nil || string(data) != "seg" {
		t.Fatalf("file on disk = %q, %v", data, err)
	}
}

func TestSymlinkEscape(t *testing.T) {
	s := newStore(t)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.mp4")
	if err := os.WriteFile(secret, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A folder and a file inside the root that point out of it.
	if err := os.MkdirAll(filepath.Join(s.Dir(), "videos"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.Dir(), "videos", "original")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.Dir(), "thumbnails", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(s.Dir(), "thumbnails", "v1", "poster.jpg")); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	for _, key := range []string{"videos/original/secret.mp4", "thumbnails/v1/poster.jpg"} {
		if rc, _, err := s.Get(ctx, key, nil); err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Get(%q) escaped the root: %q", key, data)
		}
		if info, err := s.Stat(ctx, key); err == nil {
			t.Errorf("Stat(%q) escaped the root: %+v", key, info)
		}
	}
	if err := s.Put(ctx, "videos/original/new.mp4", strings.NewReader("x"), 1, ""); err == nil {
		t.Error("Put through a symlinked folder succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "new.mp4")); err == nil {
		t.Error("Put wrote outside the root")
	}
	var listed []string
	if err := s.List(ctx, "", func(o ginflix.ObjectInfo) error { listed = append(listed, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 0 {
		t.Errorf("List followed symlinks: %q", listed)
	}
	s.Delete(ctx, "videos/original/secret.mp4")
	s.DeletePrefix(ctx, "videos/original/")
	s.DeletePrefix(ctx, "")
	if data, err := os.ReadFile(secret); err != nil || string(data) != "secret" {
		t.Errorf("file outside the root was touched: %q, %v", data, err)
	}
}

func TestReservedNames(t *testing.T) {
	s := newStore(t)
	key := "temp/" + tempPrefix + "x"
	err := s.Put(t.Context(), key, strings.NewReader("x"), 1, "")
	if ginflix.ErrorCode(err) != ginflix.EINVALID {
		t.Errorf("Put(%q) = %v, want EINVALID", key, err)
	}
}

func TestKeyConflicts(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.Put(ctx, "temp/a", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	// A filesystem cannot hold both "temp/a" and "temp/a/b".
	if err := s.Put(ctx, "temp/a/b", strings.NewReader("x"), 1, ""); ginflix.ErrorCode(err) != ginflix.ECONFLICT {
		t.Errorf("Put under an object = %v, want ECONFLICT", err)
	}
	if err := s.Put(ctx, "temp/b/c", strings.NewReader("x"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "temp/b", strings.NewReader("x"), 1, ""); ginflix.ErrorCode(err) != ginflix.ECONFLICT {
		t.Errorf("Put over a folder = %v, want ECONFLICT", err)
	}
	// Deleting a folder by its name is deleting a missing object.
	if err := s.Delete(ctx, "temp/b"); err != nil {
		t.Errorf("Delete(folder) = %v", err)
	}
	if _, err := s.Stat(ctx, "temp/b/c"); err != nil {
		t.Errorf("Delete(folder) removed its content: %v", err)
	}
	assertNoTempFiles(t, s.Dir())
}

func TestDeletePrunesFolders(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, k := range []string{"videos/hls/abc/720p/seg_001.m4s", "videos/hls/abc/master.m3u8", "videos/original/abc.mp4"} {
		if err := s.Put(ctx, k, strings.NewReader("x"), 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	// An empty folder left by someone else goes too.
	if err := os.MkdirAll(filepath.Join(s.Dir(), "videos", "hls", "abc", "empty", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePrefix(ctx, "videos/hls/abc/"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "videos", "hls")); !os.IsNotExist(err) {
		t.Errorf("empty folders left after DeletePrefix: %v", err)
	}
	if err := s.Delete(ctx, "videos/original/abc.mp4"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatalf("root removed: %v", err)
	}
	if len(entries) != 0 {
		t.Errorf("root not empty after deleting everything: %v", entries)
	}
}

func TestETag(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	key := "thumbnails/v1/poster.jpg"
	seen := map[string]bool{}
	// Quick same-size rewrites fall in one coarse kernel tick.
	for i := range 20 {
		if err := s.Put(ctx, key, strings.NewReader("same"), 4, ""); err != nil {
			t.Fatal(err)
		}
		a, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Stat(ctx, key)
		if a.ETag != b.ETag {
			t.Fatalf("ETag unstable: %q then %q", a.ETag, b.ETag)
		}
		if seen[a.ETag] {
			t.Fatalf("rewrite %d reused ETag %q", i, a.ETag)
		}
		seen[a.ETag] = true
	}
}

func TestRangeWriteTo(t *testing.T) {
	s := newStore(t)
	key := "videos/original/v1.mp4"
	if err := s.Put(t.Context(), key, strings.NewReader("0123456789"), 10, ""); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Get(t.Context(), key, &ginflix.ByteRange{Start: 2, End: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var buf bytes.Buffer
	// io.Copy takes the WriterTo path the HTTP server takes.
	if _, err := io.Copy(&buf, rc); err != nil || buf.String() != "2345" {
		t.Errorf("copy = %q, %v", buf.String(), err)
	}
}

func TestPingFailsWithoutRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping succeeded with the root removed")
	}
}

func TestPingFailsReadOnly(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	s := newStore(t)
	if err := os.Chmod(s.Dir(), 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(s.Dir(), 0o755) })
	if err := s.Ping(t.Context()); err == nil {
		t.Error("Ping succeeded on a read-only root")
	}
}
