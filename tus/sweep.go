package tus

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/handler"
)

// Run sweeps Dir every Config.SweepInterval, and once at start, until ctx
// ends: it deletes unfinished uploads with no progress for
// Config.AbandonAfter (complete ones whose Finisher never succeeded
// included), tombstones that old, and leftovers of finished uploads.
func (h *Handler) Run(ctx context.Context) {
	t := time.NewTicker(h.cfg.SweepInterval)
	defer t.Stop()
	for {
		h.sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweep makes one pass over Dir and returns how many uploads it deleted.
// Only names this package or tusd write are looked at: <id>, <id>.info,
// <id>.done and <id>.done.*.tmp with a valid id.
func (h *Handler) sweep(ctx context.Context) int {
	entries, err := os.ReadDir(h.dir)
	if err != nil {
		h.log.Error("sweeping uploads", "error", err)
		return 0
	}
	now := h.now()
	ids := map[string]bool{}
	done := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		id, rest, _ := strings.Cut(name, ".")
		if !validUploadID(id) || e.IsDir() {
			continue
		}
		switch {
		case rest == "" || rest == "info":
			ids[id] = true
		case rest == "done":
			done[id] = true
		case strings.HasPrefix(rest, "done.") && strings.HasSuffix(rest, ".tmp"):
			if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > h.cfg.AbandonAfter {
				_ = os.Remove(filepath.Join(h.dir, name))
			}
		}
	}

	removed := 0
	for id := range done {
		if ctx.Err() != nil {
			return removed
		}
		if ids[id] {
			// Finished, but the deletion of its files did not happen.
			delete(ids, id)
			if unlock, err := h.lock(ctx, id); err == nil {
				if err := h.removeFiles(ctx, id); err != nil {
					h.log.Error("deleting finished upload", "upload", id, "error", err)
				}
				unlock()
			}
		}
		t, ok := h.readTombstone(id)
		if !ok || now.Sub(t.FinishedAt) > h.cfg.AbandonAfter {
			if err := os.Remove(h.tombstonePath(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				h.log.Error("removing upload tombstone", "upload", id, "error", err)
			}
		}
	}
	for id := range ids {
		if ctx.Err() != nil {
			return removed
		}
		if h.sweepOne(ctx, id, now) {
			removed++
		}
	}
	return removed
}

// lastChange is the newest modification time of an upload's files.
func (h *Handler) lastChange(id string) (time.Time, bool) {
	var last time.Time
	found := false
	for _, p := range []string{h.binPath(id), h.infoPath(id)} {
		if fi, err := os.Stat(p); err == nil {
			found = true
			if fi.ModTime().After(last) {
				last = fi.ModTime()
			}
		}
	}
	return last, found
}

func (h *Handler) sweepOne(ctx context.Context, id string, now time.Time) bool {
	if last, ok := h.lastChange(id); !ok || now.Sub(last) <= h.cfg.AbandonAfter {
		return false
	}
	unlock, err := h.lock(ctx, id)
	if err != nil {
		return false // busy: not abandoned after all
	}
	defer unlock()
	last, ok := h.lastChange(id)
	if !ok || now.Sub(last) <= h.cfg.AbandonAfter {
		return false
	}
	up, err := h.store.GetUpload(ctx, id)
	switch {
	case errors.Is(err, handler.ErrNotFound):
		// Half-created (bytes without .info or the reverse): remove it.
		if err := h.removeFiles(ctx, id); err != nil {
			h.log.Error("deleting abandoned upload", "upload", id, "error", err)
			return false
		}
		h.log.Info("deleted a half-created upload", "upload", id, "idle", now.Sub(last).Round(time.Second))
		return true
	case err != nil:
		h.log.Error("reading abandoned upload", "upload", id, "error", err)
		return false
	}
	info, _ := up.GetInfo(ctx)
	if err := h.store.AsTerminatableUpload(up).Terminate(ctx); err != nil {
		h.log.Error("deleting abandoned upload", "upload", id, "error", err)
		return false
	}
	attrs := []any{"upload", id, "offset", info.Offset, "size", info.Size,
		"uploader", info.MetaData[metaUploader], "idle", now.Sub(last).Round(time.Second)}
	if !info.SizeIsDeferred && info.Offset == info.Size {
		h.log.Warn("deleted a complete upload whose finishing never succeeded", attrs...)
	} else {
		h.log.Info("deleted an abandoned upload", attrs...)
	}
	return true
}
