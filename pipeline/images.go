package pipeline

import (
	"context"
	"os"
	"path/filepath"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/ffmpeg"
)

// Names of the images under thumbnails/{id}/.
const (
	posterJPEG    = "poster.jpg"
	posterWebP    = "poster.webp"
	storyboardVTT = "storyboard.vtt"
)

// images makes the poster from the source and the storyboard from the
// smallest rung (DESIGN.md: ~10x faster than from the source), in dir,
// and returns the object keys the video records.
func (w *Worker) images(ctx context.Context, src, hlsDir, dir string, probe *ffmpeg.Probe, results []ffmpeg.RungResult, videoID string) (poster, storyboard, vtt string, err error) {
	if err := ffmpeg.Poster(ctx, w.cfg.FFmpeg, src, probe, filepath.Join(dir, posterJPEG), filepath.Join(dir, posterWebP)); err != nil {
		return "", "", "", err
	}
	smallest := results[len(results)-1] // results are highest first
	track, sprites, err := ffmpeg.Storyboard(ctx, w.cfg.FFmpeg, filepath.Join(hlsDir, filepath.FromSlash(smallest.URI)), probe.Duration, dir)
	if err != nil {
		return "", "", "", err
	}
	if err := os.WriteFile(filepath.Join(dir, storyboardVTT), track, 0o644); err != nil {
		return "", "", "", err
	}
	prefix := ginflix.ThumbnailPrefix(videoID)
	storyboard = ""
	if len(sprites) > 0 {
		storyboard = prefix + filepath.Base(sprites[0])
	}
	return prefix + posterJPEG, storyboard, prefix + storyboardVTT, nil
}
