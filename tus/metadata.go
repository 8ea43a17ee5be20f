package tus

import (
	"net/http"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ginflix/ginflix"
	"github.com/tus/tusd/v2/pkg/handler"
)

// Upload-Metadata keys. The client sends the first four; metaUploader is
// written by the server at creation and never read from the client.
const (
	metaFilename    = "filename"
	metaTitle       = "title"
	metaDescription = "description"
	metaTags        = "tags"
	metaUploader    = "ginflix_uploader"
)

// MaxFilenameLen bounds the filename metadata, in bytes (what filesystems
// count), although the name is never used as a path.
const MaxFilenameLen = 255

// DefaultExtensions are the containers accepted when Config.Extensions is
// empty.
var DefaultExtensions = []string{"mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts", "mts", "m2ts", "wmv", "flv", "3gp", "ogv"}

func invalidMeta(format string, args ...any) error {
	return handler.NewError("ERR_INVALID_METADATA", ginflix.Errorf(ginflix.EINVALID, format, args...).Message, http.StatusBadRequest)
}

// cleanMetadata checks the client's Upload-Metadata and returns what is
// stored with the upload: the known keys, normalised, plus the uploader.
// Unknown keys are dropped, so a client cannot plant metaUploader.
func (h *Handler) cleanMetadata(in handler.MetaData, uploader string) (handler.MetaData, error) {
	name, ok := in[metaFilename]
	if !ok || strings.TrimSpace(name) == "" {
		return nil, invalidMeta("Upload-Metadata must name the file: the %q key is missing or empty.", metaFilename)
	}
	switch {
	case !utf8.ValidString(name):
		return nil, invalidMeta("The filename is not valid UTF-8.")
	case len(name) > MaxFilenameLen:
		return nil, invalidMeta("The filename is longer than %d bytes.", MaxFilenameLen)
	case hasControl(name, false) || hasBidiOverride(name):
		return nil, invalidMeta("The filename contains control characters.")
	}
	base := path.Base(strings.ReplaceAll(name, `\`, "/"))
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(base), "."))
	if ext == "" || !h.exts[ext] {
		return nil, invalidMeta("%q is not an accepted video file: its extension must be one of %s.", name, strings.Join(h.cfg.Extensions, ", "))
	}

	title := strings.TrimSpace(in[metaTitle])
	if title == "" {
		title = strings.TrimSpace(strings.TrimSuffix(base, path.Ext(base)))
		if title == "" {
			title = base
		}
		if utf8.RuneCountInString(title) > ginflix.MaxTitleLen {
			title = string([]rune(title)[:ginflix.MaxTitleLen])
		}
	}
	switch {
	case !utf8.ValidString(title):
		return nil, invalidMeta("The title is not valid UTF-8.")
	case utf8.RuneCountInString(title) > ginflix.MaxTitleLen:
		return nil, invalidMeta("The title is longer than %d characters.", ginflix.MaxTitleLen)
	case hasControl(title, false):
		return nil, invalidMeta("The title contains control characters.")
	}

	desc := in[metaDescription]
	switch {
	case !utf8.ValidString(desc):
		return nil, invalidMeta("The description is not valid UTF-8.")
	case utf8.RuneCountInString(desc) > ginflix.MaxDescriptionLen:
		return nil, invalidMeta("The description is longer than %d characters.", ginflix.MaxDescriptionLen)
	case hasControl(desc, true):
		return nil, invalidMeta("The description contains control characters other than line breaks and tabs.")
	}

	var tags []string
	if raw := in[metaTags]; raw != "" {
		if !utf8.ValidString(raw) || hasControl(raw, false) {
			return nil, invalidMeta("The tags contain invalid characters.")
		}
		var err error
		if tags, err = ginflix.NormalizeTags(strings.Split(raw, ",")); err != nil {
			return nil, invalidMeta("%s", ginflix.ErrorMessage(err))
		}
	}

	out := handler.MetaData{
		metaFilename: name,
		metaTitle:    title,
		metaUploader: uploader,
	}
	if desc != "" {
		out[metaDescription] = desc
	}
	if len(tags) > 0 {
		out[metaTags] = strings.Join(tags, ",")
	}
	return out, nil
}

// hasControl reports control characters (C0, DEL, C1); multiline allows
// \n, \r and \t.
func hasControl(s string, multiline bool) bool {
	for _, r := range s {
		if multiline && (r == '\n' || r == '\r' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// hasBidiOverride reports the embedding, override and isolate controls
// that can make a name display with another extension than it has.
func hasBidiOverride(s string) bool {
	for _, r := range s {
		if r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return true
		}
	}
	return false
}

// uploadFrom builds the finisher's view of a stored upload.
func (h *Handler) uploadFrom(info handler.FileInfo) Upload {
	u := Upload{
		ID:          info.ID,
		Size:        info.Size,
		Filename:    info.MetaData[metaFilename],
		Title:       info.MetaData[metaTitle],
		Description: info.MetaData[metaDescription],
		UploaderID:  info.MetaData[metaUploader],
		Path:        h.binPath(info.ID),
	}
	if t := info.MetaData[metaTags]; t != "" {
		u.Tags = strings.Split(t, ",")
	}
	return u
}
