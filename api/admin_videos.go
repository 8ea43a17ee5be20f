package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/httpmw"
)

// adminVideoJSON is a video as admins see it: any status, with who
// uploaded it.
type adminVideoJSON struct {
	videoJSON
	UploaderID string `json:"uploaderId"`
}

func (s *server) toAdminVideoJSON(v *ginflix.Video) adminVideoJSON {
	return adminVideoJSON{videoJSON: s.toVideoJSON(v), UploaderID: v.UploaderID}
}

func (s *server) handleAdminListVideos(w http.ResponseWriter, r *http.Request) {
	f, err := videoFilterFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f.Status = ginflix.VideoStatus(q.Get("status"))
	f.UploaderID = q.Get("uploader")
	if p := q.Get("published"); p != "" {
		b, err := strconv.ParseBool(p)
		if err != nil {
			s.writeError(w, r, ginflix.InvalidParam("published", "published must be true or false, got %q.", p))
			return
		}
		f.Published = &b
	}
	if err := f.Normalize(); err != nil {
		s.writeError(w, r, err)
		return
	}
	videos, next, err := s.Store.FindVideos(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := page[adminVideoJSON]{Items: make([]adminVideoJSON, len(videos)), Next: next}
	for i, v := range videos {
		out.Items[i] = s.toAdminVideoJSON(v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) handleAdminGetVideo(w http.ResponseWriter, r *http.Request) {
	v, err := s.pathVideo(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toAdminVideoJSON(v))
}

func (s *server) handleAdminPatchVideo(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body struct {
		Title       *string   `json:"title"`
		Description *string   `json:"description"`
		Tags        *[]string `json:"tags"`
		Category    *string   `json:"category"`
		Language    *string   `json:"language"`
		Published   *bool     `json:"published"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	// The video as it was: publishing needs it ready, and the audit log
	// says what changed.
	before, err := s.Store.Video(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Published != nil && *body.Published && before.Status != ginflix.StatusReady {
		s.writeError(w, r, ginflix.Errorf(ginflix.ECONFLICT, "Only a ready video can be published; this one is %s.", before.Status))
		return
	}
	v, err := s.Store.UpdateVideo(r.Context(), id, ginflix.VideoUpdate{
		Title: body.Title, Description: body.Description, Tags: body.Tags, Category: body.Category,
		Language: body.Language, Published: body.Published,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.cache.invalidate()
	s.auditVideoPatch(r, before, v)
	s.Logger.InfoContext(r.Context(), "video updated", "video_id", id, "by", principal(r).Subject, "request_id", httpmw.RequestIDFrom(r.Context()))
	writeJSON(w, http.StatusOK, s.toAdminVideoJSON(v))
}

// handleAdminDeleteVideo removes the media first, then the record: a
// failure half-way leaves the video listed, so deleting again finishes the
// job instead of leaving orphaned objects nobody can find.
func (s *server) handleAdminDeleteVideo(w http.ResponseWriter, r *http.Request) {
	v, err := s.pathVideo(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := v.ID
	if v.SourceKey != "" {
		if err := s.Objects.Delete(r.Context(), v.SourceKey); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	for _, prefix := range []string{ginflix.HLSPrefix(id), ginflix.ThumbnailPrefix(id)} {
		if err := s.Objects.DeletePrefix(r.Context(), prefix); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := s.Store.DeleteVideo(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.cache.invalidate()
	s.Audit.Record(r.Context(), principal(r), ginflix.AuditVideoDeleted, ginflix.TargetVideo, id, v.Title)
	s.Logger.InfoContext(r.Context(), "video deleted", "video_id", id, "by", principal(r).Subject, "request_id", httpmw.RequestIDFrom(r.Context()))
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) handleUploads(w http.ResponseWriter, r *http.Request) {
	if s.Uploads == nil {
		s.writeError(w, r, ginflix.Errorf(ginflix.EUNAVAILABLE, "This server takes no uploads; send them to a backend."))
		return
	}
	rec := &statusRecorder{ResponseWriter: w}
	s.Uploads.ServeHTTP(rec, r)
	s.auditUploadCreated(r, rec)
}

// auditVideoPatch records an admin's edit: publication changes as their
// own actions, other fields as one "video.updated" naming them.
func (s *server) auditVideoPatch(r *http.Request, before, after *ginflix.Video) {
	p := principal(r)
	var fields []string
	for _, f := range []struct {
		name    string
		changed bool
	}{
		{"title", before.Title != after.Title},
		{"description", before.Description != after.Description},
		{"tags", !slices.Equal(before.Tags, after.Tags)},
		{"category", before.Category != after.Category},
		{"language", before.Language != after.Language},
	} {
		if f.changed {
			fields = append(fields, f.name)
		}
	}
	if len(fields) > 0 {
		detail := after.Title + " — " + strings.Join(fields, ", ")
		if before.Title != after.Title {
			detail = fmt.Sprintf("%s — %s (was %q)", after.Title, strings.Join(fields, ", "), before.Title)
		}
		s.Audit.Record(r.Context(), p, ginflix.AuditVideoUpdated, ginflix.TargetVideo, after.ID, detail)
	}
	switch {
	case after.Published && !before.Published:
		s.Audit.Record(r.Context(), p, ginflix.AuditVideoPublished, ginflix.TargetVideo, after.ID, after.Title)
	case !after.Published && before.Published:
		s.Audit.Record(r.Context(), p, ginflix.AuditVideoUnpublished, ginflix.TargetVideo, after.ID, after.Title)
	}
}
