package ginflix

import (
	"mime"
	"path"
	"strings"
)

// mediaTypes wins over mime.TypeByExtension because the system tables of
// minimal images often lack the streaming types, or give .ts as Qt/TypeScript.
var mediaTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".m4s":  "video/iso.segment",
	".mp4":  "video/mp4",
	".ts":   "video/mp2t",
	".webp": "image/webp",
	".jpg":  "image/jpeg",
	".png":  "image/png",
	".vtt":  "text/vtt",
	".json": "application/json",
}

// ContentTypeFor guesses the media type of an object from its key's
// extension, so that both stores serve the same type for the same key.
func ContentTypeFor(key string) string {
	ext := strings.ToLower(path.Ext(key))
	if t, ok := mediaTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); ext != "" && t != "" {
		return t
	}
	return "application/octet-stream"
}

// ResolveRange turns rng (nil for the whole object) into the offset and
// length to read from an object of size bytes. Both stores use it so that
// they refuse exactly the same ranges: a negative start or an end before
// the start is EINVALID; a start at or past the end, and any range of an
// empty object, is ERANGE; an end past the object is clamped.
func ResolveRange(rng *ByteRange, size int64) (off, n int64, err error) {
	if rng == nil {
		return 0, size, nil
	}
	if rng.Start < 0 || (rng.End >= 0 && rng.End < rng.Start) {
		return 0, 0, Errorf(EINVALID, "Invalid byte range %d-%d.", rng.Start, rng.End)
	}
	if rng.Start >= size {
		return 0, 0, Errorf(ERANGE, "Byte range starts at %d, past the end of a %d-byte object.", rng.Start, size)
	}
	end := rng.End
	if end < 0 || end >= size {
		end = size - 1
	}
	return rng.Start, end - rng.Start + 1, nil
}
