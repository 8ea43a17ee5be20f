package api

import (
	"net/http"
	"path"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/playback"
)

type playbackJSON struct {
	URL           string    `json:"url"`
	ExpiresAt     time.Time `json:"expiresAt"`
	StoryboardURL string    `json:"storyboardUrl,omitempty"`
	PosterURL     string    `json:"posterUrl,omitempty"`
	// Session is the playback-session id the player reports events with
	// (POST /api/playback/events); opaque, signed, until SessionExpiresAt.
	Session          string    `json:"session"`
	SessionExpiresAt time.Time `json:"sessionExpiresAt"`
}

// handlePlayback authorises one user to play one video: the master
// playlist URL with a short-lived viewer token the streamer checks
// without a database (package playback).
func (s *server) handlePlayback(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.Playback == nil {
		s.writeError(w, r, ginflix.Errorf(ginflix.EUNAVAILABLE, "Playback is not configured on this server."))
		return
	}
	v, err := s.watchableVideo(r, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if v.Status != ginflix.StatusReady {
		s.writeError(w, r, ginflix.Errorf(ginflix.ECONFLICT, "The video is %s; it can be played once it is ready.", v.Status))
		return
	}
	ttl := s.Playback.TTL()
	out := playbackJSON{
		URL:       playback.MasterURL(s.Public.StreamerURL, id, s.Playback.SignViewer(id, principal(r).Subject, ttl)),
		ExpiresAt: time.Now().Add(ttl).UTC().Truncate(time.Second),
	}
	rungs := make([]string, len(v.Renditions))
	for i, rd := range v.Renditions {
		rungs[i] = rd.Name
	}
	session, sess := s.Playback.SignSession(id, principal(r).Subject, v.Duration, rungs, s.Analytics.SessionTTL)
	out.Session, out.SessionExpiresAt = session, sess.Expires
	vt := s.Playback.VideoToken(id, time.Now())
	if v.StoryboardVTTKey != "" {
		out.StoryboardURL = playback.ThumbnailURL(s.Public.StreamerURL, id, path.Base(v.StoryboardVTTKey), vt)
	}
	if v.PosterKey != "" {
		out.PosterURL = playback.ThumbnailURL(s.Public.StreamerURL, id, path.Base(v.PosterKey), vt)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// posterURLs returns a video's poster URLs (JPEG and WebP), which carry
// the video token shared by every viewer, so pages and CDNs cache them.
func (s *server) posterURLs(v *ginflix.Video) (jpeg, webp string) {
	if s.Playback == nil || v.PosterKey == "" {
		return "", ""
	}
	vt := s.Playback.VideoToken(v.ID, time.Now())
	base := path.Base(v.PosterKey)
	jpeg = playback.ThumbnailURL(s.Public.StreamerURL, v.ID, base, vt)
	webp = playback.ThumbnailURL(s.Public.StreamerURL, v.ID, base[:len(base)-len(path.Ext(base))]+".webp", vt)
	return jpeg, webp
}
