package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ginflix/ginflix"
)

type jobJSON struct {
	ID          string     `json:"id"`
	VideoID     string     `json:"videoId"`
	Kind        string     `json:"kind"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	MaxAttempts int        `json:"maxAttempts"`
	Progress    float64    `json:"progress"` // percent, 0–100
	ETASeconds  *float64   `json:"etaSeconds,omitempty"`
	Error       string     `json:"error,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	RunAfter    time.Time  `json:"runAfter"`
}

func toJobJSON(j *ginflix.Job, now time.Time) jobJSON {
	out := jobJSON{
		ID: j.ID, VideoID: j.VideoID, Kind: j.Kind, State: string(j.State), Attempts: j.Attempts, MaxAttempts: j.MaxAttempts,
		Progress: j.Progress * 100, Error: j.Error, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, RunAfter: j.RunAfter,
	}
	// The ETA extrapolates this attempt's pace from its last heartbeat.
	if j.State == ginflix.JobRunning && j.StartedAt != nil && j.Progress > 0.01 && j.Progress < 1 {
		elapsed := j.UpdatedAt.Sub(*j.StartedAt).Seconds()
		eta := max(0, elapsed*(1-j.Progress)/j.Progress-now.Sub(j.UpdatedAt).Seconds())
		out.ETASeconds = &eta
	}
	return out
}

func (s *server) handleAdminJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := ginflix.JobFilter{State: ginflix.JobState(q.Get("state")), VideoID: q.Get("videoId")}
	switch f.State {
	case "", ginflix.JobQueued, ginflix.JobRunning, ginflix.JobSucceeded, ginflix.JobFailed:
	default:
		s.writeError(w, r, ginflix.InvalidParam("state", "Unknown job state %q: use queued, running, succeeded or failed.", f.State))
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			s.writeError(w, r, ginflix.InvalidParam("limit", "limit must be a whole number from 1 to 500."))
			return
		}
		f.Limit = n
	}
	jobs, err := s.Store.Jobs(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now()
	out := page[jobJSON]{Items: make([]jobJSON, len(jobs))}
	for i, j := range jobs {
		out.Items[i] = toJobJSON(j, now)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAdminRetryVideo queues a failed video's transcoding again, with
// fresh attempts.
func (s *server) handleAdminRetryVideo(w http.ResponseWriter, r *http.Request) {
	v, err := s.pathVideo(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := v.ID
	if v.Status != ginflix.StatusFailed {
		s.writeError(w, r, ginflix.Errorf(ginflix.ECONFLICT, "Only a failed video can be retried; this one is %s.", v.Status))
		return
	}
	if v.SourceKey == "" {
		s.writeError(w, r, ginflix.Errorf(ginflix.ECONFLICT, "This video has no uploaded original to transcode; upload it again."))
		return
	}
	jobs, err := s.Store.Jobs(r.Context(), ginflix.JobFilter{VideoID: id, Limit: 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var job *ginflix.Job
	if len(jobs) > 0 && jobs[0].State == ginflix.JobFailed {
		job, err = s.Store.RetryJob(r.Context(), jobs[0].ID)
	} else if len(jobs) == 0 || jobs[0].State == ginflix.JobSucceeded {
		job, err = s.Store.EnqueueJob(r.Context(), &ginflix.Job{VideoID: id, Kind: ginflix.JobKindTranscode})
	} else {
		err = ginflix.Errorf(ginflix.ECONFLICT, "A job for this video is already %s.", jobs[0].State)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status, empty := ginflix.StatusProcessing, ""
	if _, err := s.Store.UpdateVideo(r.Context(), id, ginflix.VideoUpdate{Status: &status, Error: &empty}); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.Audit.Record(r.Context(), principal(r), ginflix.AuditVideoRetried, ginflix.TargetVideo, id, v.Title)
	s.Logger.InfoContext(r.Context(), "video retried", "video_id", id, "job_id", job.ID, "by", principal(r).Subject)
	writeJSON(w, http.StatusAccepted, toJobJSON(job, time.Now()))
}
