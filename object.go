package ginflix

import (
	"context"
	"io"
	"path"
	"strings"
	"time"
)

// Key prefixes of the object store, as the seed lays out its bucket.
const (
	PrefixOriginal   = "videos/original/"
	PrefixTranscoded = "videos/transcoded/"
	PrefixHLS        = "videos/hls/"
	PrefixThumbnails = "thumbnails/"
	PrefixSubtitles  = "subtitles/"
	PrefixTemp       = "temp/"
)

// HLSPrefix is the folder of one video's ladder.
func HLSPrefix(videoID string) string { return PrefixHLS + videoID + "/" }

// ThumbnailPrefix is the folder of one video's poster and storyboard.
func ThumbnailPrefix(videoID string) string { return PrefixThumbnails + videoID + "/" }

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ETag        string // quoted-free opaque tag, changes when content does
	ContentType string
}

// ByteRange is an inclusive range of bytes; End < 0 means to the end.
type ByteRange struct {
	Start, End int64
}

// ObjectStore keeps media: originals, HLS ladders, images. The filesystem
// and s3 packages implement it; objectstoretest checks both.
type ObjectStore interface {
	// Put stores r under key; size is -1 when unknown. A reader that fails
	// leaves no partial object behind.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens key, or the part of it rng names (nil for all). A range
	// starting past the end is ERANGE; missing objects are ENOTFOUND.
	Get(ctx context.Context, key string, rng *ByteRange) (io.ReadCloser, ObjectInfo, error)
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for each object under prefix, in key order.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Delete removes one object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every object under prefix.
	DeletePrefix(ctx context.Context, prefix string) error
	// Ping checks the store answers, for readiness.
	Ping(ctx context.Context) error
}

// ValidateKey refuses keys that could escape a store's root or that S3
// and filesystems treat differently: empty, absolute, with "." or ".."
// segments, backslashes, control characters or doubled slashes.
func ValidateKey(key string) error {
	if key == "" || len(key) > 1024 || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") ||
		strings.ContainsAny(key, "\\\x00") || path.Clean(key) != key {
		return Errorf(EINVALID, "Invalid object key %q.", key)
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return Errorf(EINVALID, "Invalid object key %q.", key)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." {
			return Errorf(EINVALID, "Invalid object key %q.", key)
		}
	}
	return nil
}

// ValidatePrefix is ValidateKey for a prefix: "" (everything) or a key
// ending in "/".
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if !strings.HasSuffix(prefix, "/") {
		return Errorf(EINVALID, "Invalid object prefix %q: it must end with /.", prefix)
	}
	return ValidateKey(strings.TrimSuffix(prefix, "/"))
}
