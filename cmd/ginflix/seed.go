package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/pipeline"
)

// seedDemo fills an empty catalogue with the demo clips on a first start
// (serve --demo, what make run does), so a newcomer sees videos at once:
// they go through the real pipeline and are published when ready.
func seedDemo(ctx context.Context, cfg Config, store ginflix.Store, objects ginflix.ObjectStore, log *slog.Logger) {
	if existing, _, err := store.FindVideos(ctx, ginflix.VideoFilter{Limit: 1}); err != nil || len(existing) > 0 {
		return
	}
	dir, err := os.MkdirTemp(filepath.Join(cfg.DataDir, "tmp"), "demo-")
	if err != nil {
		log.Error("demo: temp dir", "err", err)
		return
	}
	defer os.RemoveAll(dir)
	var ids []string
	for i, clip := range demoClips {
		path := filepath.Join(dir, clip.file)
		if err := makeClip(ctx, cfg.FFmpegPath, clip, 6*time.Second, path); err != nil {
			log.Error("demo: making a clip", "clip", clip.file, "err", err)
			return
		}
		st, err := os.Stat(path)
		if err != nil {
			return
		}
		v, err := pipeline.Ingest(ctx, store, objects, pipeline.Original{
			UploadID: "demo-" + clip.file, Path: path, Size: st.Size(), Filename: clip.file,
			Title: clip.title, Description: clip.description, Tags: clip.tags,
		})
		if err != nil {
			log.Error("demo: ingesting a clip", "clip", clip.file, "err", err)
			return
		}
		ids = append(ids, v.ID)
		log.Info("demo video queued", "n", i+1, "title", clip.title, "video_id", v.ID)
	}
	// Publish each as soon as the workers have made it ready.
	for len(ids) > 0 && ctx.Err() == nil {
		rest := ids[:0]
		for _, id := range ids {
			v, err := store.Video(ctx, id)
			switch {
			case err != nil || v.Status == ginflix.StatusFailed:
				log.Warn("demo video not published", "video_id", id, "err", err)
			case v.Status == ginflix.StatusReady:
				pub := true
				if _, err := store.UpdateVideo(ctx, id, ginflix.VideoUpdate{Published: &pub}); err != nil {
					log.Warn("demo: publishing", "video_id", id, "err", err)
				}
			default:
				rest = append(rest, id)
			}
		}
		ids = rest
		sleep := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
		case <-sleep.C:
		}
	}
}
