package api

import (
	"net/http"
	"time"

	"github.com/ginflix/ginflix"
)

type meJSON struct {
	Subject string   `json:"subject"`
	Name    string   `json:"name"`
	Email   string   `json:"email"`
	Roles   []string `json:"roles"`
	Admin   bool     `json:"admin"`
}

func (s *server) handleMe(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	roles := p.Roles
	if roles == nil {
		roles = []string{}
	}
	writeJSON(w, http.StatusOK, meJSON{Subject: p.Subject, Name: p.Name, Email: p.Email, Roles: roles, Admin: p.Admin})
}

// watchableVideo returns the video a user's own data may refer to: one
// they may play (admins may also use unpublished ones).
func (s *server) watchableVideo(r *http.Request, id string) (*ginflix.Video, error) {
	v, err := s.Store.Video(r.Context(), id)
	if err == nil && !v.Playable() && !principal(r).Admin {
		err = ginflix.Errorf(ginflix.ENOTFOUND, "No video with id %q.", id)
	}
	return v, err
}

type progressJSON struct {
	VideoID   string     `json:"videoId"`
	Position  float64    `json:"position"`
	Duration  float64    `json:"duration"`
	Completed bool       `json:"completed"`
	UpdatedAt time.Time  `json:"updatedAt"`
	Video     *videoJSON `json:"video,omitempty"`
}

func toProgressJSON(p *ginflix.WatchProgress) progressJSON {
	return progressJSON{VideoID: p.VideoID, Position: p.Position, Duration: p.Duration, Completed: p.Completed, UpdatedAt: p.UpdatedAt}
}

func (s *server) handleGetProgress(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "videoId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The store is keyed by the token's subject: no request names a user.
	p, err := s.Store.Progress(r.Context(), principal(r).Subject, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toProgressJSON(p))
}

func (s *server) handlePutProgress(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "videoId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body struct {
		Position  *float64 `json:"position"`
		Duration  float64  `json:"duration"`
		Completed bool     `json:"completed"`
	}
	if err := decodeJSON(w, r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.Position == nil {
		s.writeError(w, r, ginflix.InvalidParam("position", "position (seconds) is required."))
		return
	}
	v, err := s.watchableVideo(r, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if v.Duration > 0 && *body.Position > v.Duration+1 {
		s.writeError(w, r, ginflix.InvalidParam("position", "position %.1f is past the end of the video (%.1f s).", *body.Position, v.Duration))
		return
	}
	p := &ginflix.WatchProgress{UserID: principal(r).Subject, VideoID: id, Position: *body.Position, Duration: body.Duration, Completed: body.Completed}
	if err := s.Store.SaveProgress(r.Context(), p); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toProgressJSON(p))
}

// videosByID loads the playable videos among ids, skipping the others (a
// video unpublished or deleted since it was saved).
func (s *server) videosByID(r *http.Request, ids []string) (map[string]*ginflix.Video, error) {
	out := make(map[string]*ginflix.Video, len(ids))
	for _, id := range ids {
		v, err := s.Store.Video(r.Context(), id)
		switch {
		case ginflix.ErrorCode(err) == ginflix.ENOTFOUND:
			continue
		case err != nil:
			return nil, err
		case v.Playable():
			out[id] = v
		}
	}
	return out, nil
}

func (s *server) handleContinue(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.ContinueWatching(r.Context(), principal(r).Subject, 20)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids := make([]string, len(list))
	for i, p := range list {
		ids[i] = p.VideoID
	}
	videos, err := s.videosByID(r, ids)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := page[progressJSON]{Items: []progressJSON{}}
	for _, p := range list {
		if v := videos[p.VideoID]; v != nil {
			j, vj := toProgressJSON(p), s.toVideoJSON(v)
			vj.Renditions = nil
			j.Video = &vj
			out.Items = append(out.Items, j)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type listEntryJSON struct {
	VideoID string     `json:"videoId"`
	AddedAt time.Time  `json:"addedAt"`
	Video   *videoJSON `json:"video,omitempty"`
}

func (s *server) handleMyList(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.MyList(r.Context(), principal(r).Subject, 0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ids := make([]string, len(list))
	for i, e := range list {
		ids[i] = e.VideoID
	}
	videos, err := s.videosByID(r, ids)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := page[listEntryJSON]{Items: []listEntryJSON{}}
	for _, e := range list {
		if v := videos[e.VideoID]; v != nil {
			vj := s.toVideoJSON(v)
			vj.Renditions = nil
			out.Items = append(out.Items, listEntryJSON{VideoID: e.VideoID, AddedAt: e.AddedAt, Video: &vj})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) handleGetListEntry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "videoId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.Store.MyListEntry(r.Context(), principal(r).Subject, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listEntryJSON{VideoID: e.VideoID, AddedAt: e.AddedAt})
}

func (s *server) handlePutListEntry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "videoId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.watchableVideo(r, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.Store.AddToMyList(r.Context(), principal(r).Subject, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listEntryJSON{VideoID: e.VideoID, AddedAt: e.AddedAt})
}

func (s *server) handleDeleteListEntry(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "videoId")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Store.RemoveFromMyList(r.Context(), principal(r).Subject, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
