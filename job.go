package ginflix

import (
	"context"
	"time"
)

// JobState is where a job is in the durable queue.
type JobState string

const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobSucceeded JobState = "succeeded"
	JobFailed    JobState = "failed"
)

// JobStates lists every state, in queue order.
var JobStates = []JobState{JobQueued, JobRunning, JobSucceeded, JobFailed}

// JobKindTranscode turns an uploaded original into the HLS ladder.
const JobKindTranscode = "transcode"

// Job is a unit of background work, leased by one worker at a time.
type Job struct {
	ID          string   `json:"id"`
	VideoID     string   `json:"videoId"`
	Kind        string   `json:"kind"`
	State       JobState `json:"state"`
	Attempts    int      `json:"attempts"`
	MaxAttempts int      `json:"maxAttempts"`
	// Progress is the fraction done, 0 to 1, reported by heartbeats.
	Progress       float64    `json:"progress"`
	Error          string     `json:"error,omitempty"`
	LeaseOwner     string     `json:"leaseOwner,omitempty"`
	LeaseExpiresAt *time.Time `json:"leaseExpiresAt,omitempty"`
	// RunAfter delays a retry (backoff).
	RunAfter   time.Time  `json:"runAfter"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// DefaultMaxAttempts bounds automatic retries of a job.
const DefaultMaxAttempts = 3

// JobFilter selects jobs for the admin list.
type JobFilter struct {
	State   JobState // "" for any
	VideoID string
	Limit   int
}

// JobStore is the durable job queue. A job is never stuck: a lease that
// is not extended expires and the job goes to another worker, until its
// attempts run out and it fails with a readable error.
type JobStore interface {
	// EnqueueJob stores a queued job. Enqueueing an ID that exists is a
	// no-op that returns the stored job, so a hook that runs twice queues
	// the work once.
	EnqueueJob(ctx context.Context, j *Job) (*Job, error)
	// LeaseJob hands the oldest runnable job to owner for ttl, or returns
	// ENOTFOUND when there is none. Runnable: queued and due, or running
	// with an expired lease. Leasing counts an attempt; an expired job with
	// no attempts left is failed instead of leased.
	LeaseJob(ctx context.Context, owner string, ttl time.Duration) (*Job, error)
	// HeartbeatJob extends owner's lease and records progress; ECONFLICT
	// when owner no longer holds the lease.
	HeartbeatJob(ctx context.Context, id, owner string, ttl time.Duration, progress float64) error
	// CompleteJob marks owner's job succeeded.
	CompleteJob(ctx context.Context, id, owner string) error
	// FailJob records msg; the job is queued again after backoff while it
	// has attempts left, failed otherwise. retryable=false fails it now.
	FailJob(ctx context.Context, id, owner, msg string, retryable bool, backoff time.Duration) (*Job, error)
	// ReleaseJob gives a job back to the queue without counting the
	// attempt, for a worker that shuts down.
	ReleaseJob(ctx context.Context, id, owner string) error
	// RetryJob queues a failed job again with fresh attempts (admin action).
	RetryJob(ctx context.Context, id string) (*Job, error)
	Job(ctx context.Context, id string) (*Job, error)
	// Jobs lists jobs, newest first.
	Jobs(ctx context.Context, f JobFilter) ([]*Job, error)
	// CountJobs counts jobs by state, for the queue's health; states with
	// no job are present with 0.
	CountJobs(ctx context.Context) (map[JobState]int, error)
}
