//go:build unix

package pipeline

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

func TestSweepJobDirs(t *testing.T) {
	tmp := t.TempDir()
	running, release, err := makeJobDir(tmp, "aaaaaaaaaaaaaaaaaaaaaaaa")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// What a killed worker leaves: its files and its lock file, which
	// the kernel unlocked when the process died.
	dead := filepath.Join(tmp, "job-bbbbbbbbbbbbbbbbbbbbbbbb-123")
	if err := os.MkdirAll(filepath.Join(dead, "hls", "720p"), 0o700); err != nil {
		t.Fatal(err)
	}
	lock, err := lockFile(filepath.Join(dead, lockName), true)
	if err != nil {
		t.Fatal(err)
	}
	lock.Close()
	if err := os.WriteFile(filepath.Join(dead, "hls", "720p", "seg_00000.m4s"), make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	// Held: another process's running job looks the same as this one.
	if _, err := lockFile(filepath.Join(running, lockName), false); err != errLocked {
		t.Fatalf("locking a running job's directory again: %v, want errLocked", err)
	}
	// Not ours: no lock file, or not a directory.
	foreign := filepath.Join(tmp, "job-of-another-program")
	if err := os.Mkdir(foreign, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "job-file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	sweepJobDirs(tmp, slog.New(slog.DiscardHandler))

	for path, want := range map[string]bool{running: true, dead: false, foreign: true, filepath.Join(tmp, "job-file"): true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(path), err == nil, want)
		}
	}
	if _, err := os.Stat(filepath.Join(running, lockName)); err != nil {
		t.Errorf("the running job lost its lock file: %v", err)
	}
}
