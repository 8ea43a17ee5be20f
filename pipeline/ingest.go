package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/ginflix/ginflix"
)

// Original is a finished upload: its bytes in a local file and what the
// uploader said of it.
type Original struct {
	UploadID    string
	Path        string
	Size        int64
	Filename    string
	Title       string
	Description string
	Tags        []string
	UploaderID  string
}

// derivedID maps an upload to a stable id, so that ingesting one upload
// twice (a finish hook that runs again) names the same video and job.
func derivedID(kind, uploadID string) string {
	sum := sha256.Sum256([]byte(kind + ":" + uploadID))
	return hex.EncodeToString(sum[:12])
}

var safeExt = regexp.MustCompile(`^\.[a-z0-9]{1,5}$`)

// Ingest stores an original under videos/original/, creates its video
// (status processing) and queues its transcoding job. It is idempotent:
// every step finds the result of an earlier run and keeps it.
func Ingest(ctx context.Context, store ginflix.Store, objects ginflix.ObjectStore, o Original) (*ginflix.Video, error) {
	videoID := derivedID("video", o.UploadID)
	ext := strings.ToLower(path.Ext(o.Filename))
	if !safeExt.MatchString(ext) {
		ext = "" // the name is the uploader's; the key never depends on more than a clean extension
	}
	key := ginflix.PrefixOriginal + videoID + ext

	if st, err := objects.Stat(ctx, key); err != nil || st.Size != o.Size {
		f, err := os.Open(o.Path)
		if err != nil {
			return nil, fmt.Errorf("opening the upload: %w", err)
		}
		err = objects.Put(ctx, key, f, o.Size, ginflix.ContentTypeFor(key))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("storing the original: %w", err)
		}
	}
	title := strings.TrimSpace(o.Title)
	if title == "" {
		title = strings.TrimSuffix(path.Base(o.Filename), path.Ext(o.Filename))
	}
	v := &ginflix.Video{
		ID: videoID, Title: title, Description: o.Description, Tags: o.Tags,
		Status: ginflix.StatusProcessing, SourceKey: key, UploaderID: o.UploaderID,
	}
	switch err := store.CreateVideo(ctx, v); {
	case ginflix.ErrorCode(err) == ginflix.ECONFLICT:
		existing, err := store.Video(ctx, videoID)
		if err != nil {
			return nil, err
		}
		v = existing
	case err != nil:
		return nil, err
	}
	if _, err := store.EnqueueJob(ctx, &ginflix.Job{ID: derivedID("job", o.UploadID), VideoID: videoID, Kind: ginflix.JobKindTranscode}); err != nil {
		return nil, fmt.Errorf("queueing the transcoding: %w", err)
	}
	return v, nil
}
