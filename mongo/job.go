package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ginflix/ginflix"
)

// DefaultJobsLimit is the length of Jobs when the filter sets none.
const DefaultJobsLimit = 100

type jobDoc struct {
	ID          string `bson:"_id"`
	VideoID     string `bson:"video_id"`
	Kind        string `bson:"kind"`
	State       string `bson:"state"`
	Attempts    int    `bson:"attempts"`
	MaxAttempts int    `bson:"max_attempts"`
	// AttemptsLeft is max_attempts - attempts, kept by every update that
	// changes either, so that "has attempts left" is a plain comparison
	// with a constant: FerretDB's $expr knows only $sum and $type, so
	// it cannot compare two fields.
	AttemptsLeft   int        `bson:"attempts_left"`
	Progress       float64    `bson:"progress"`
	Error          string     `bson:"error"`
	LeaseOwner     string     `bson:"lease_owner"`
	LeaseExpiresAt *time.Time `bson:"lease_expires_at"`
	RunAfter       time.Time  `bson:"run_after"`
	CreatedAt      time.Time  `bson:"created_at"`
	UpdatedAt      time.Time  `bson:"updated_at"`
	StartedAt      *time.Time `bson:"started_at"`
	FinishedAt     *time.Time `bson:"finished_at"`
}

func (d *jobDoc) job() *ginflix.Job {
	return &ginflix.Job{
		ID: d.ID, VideoID: d.VideoID, Kind: d.Kind, State: ginflix.JobState(d.State),
		Attempts: d.Attempts, MaxAttempts: d.MaxAttempts, Progress: d.Progress, Error: d.Error,
		LeaseOwner: d.LeaseOwner, LeaseExpiresAt: utcPtr(d.LeaseExpiresAt), RunAfter: d.RunAfter.UTC(),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		StartedAt: utcPtr(d.StartedAt), FinishedAt: utcPtr(d.FinishedAt),
	}
}

type m = bson.D

func kv(k string, v any) bson.E { return bson.E{Key: k, Value: v} }

// clearLease is the $set part that forgets the lease holder.
func clearLease(set bson.D) bson.D {
	return append(set, kv("lease_owner", ""), kv("lease_expires_at", nil))
}

// EnqueueJob stores j queued. An existing ID is not an error: the stored
// job is returned unchanged.
func (db *DB) EnqueueJob(ctx context.Context, j *ginflix.Job) (*ginflix.Job, error) {
	if j.ID == "" {
		j.ID = ginflix.NewID()
	}
	if j.Kind == "" {
		return nil, ginflix.InvalidParam("kind", "A job needs a kind.")
	}
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = ginflix.DefaultMaxAttempts
	}
	now := db.now()
	if j.RunAfter.IsZero() {
		j.RunAfter = now
	}
	d := &jobDoc{
		ID: j.ID, VideoID: j.VideoID, Kind: j.Kind, State: string(ginflix.JobQueued),
		MaxAttempts: j.MaxAttempts, AttemptsLeft: j.MaxAttempts,
		RunAfter: j.RunAfter.UTC().Truncate(time.Millisecond), CreatedAt: now, UpdatedAt: now,
	}
	if _, err := db.jobs.InsertOne(ctx, d); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return db.Job(ctx, j.ID)
		}
		return nil, wrap(err)
	}
	return d.job(), nil
}

// LeaseJob fails the expired jobs that have no attempt left, then hands
// the oldest runnable job to owner.
func (db *DB) LeaseJob(ctx context.Context, owner string, ttl time.Duration) (*ginflix.Job, error) {
	defer db.serialize()()
	now := db.now()
	if err := db.failExhausted(ctx, now); err != nil {
		return nil, err
	}
	runnable := m{kv("$or", bson.A{
		m{kv("state", string(ginflix.JobQueued)), kv("run_after", m{kv("$lte", now)})},
		m{
			kv("state", string(ginflix.JobRunning)),
			kv("lease_expires_at", m{kv("$lt", now)}),
			kv("attempts_left", m{kv("$gt", 0)}),
		},
	})}
	var d jobDoc
	err := db.jobs.FindOneAndUpdate(ctx, runnable,
		m{
			kv("$set", m{
				kv("state", string(ginflix.JobRunning)),
				kv("lease_owner", owner),
				kv("lease_expires_at", now.Add(ttl)),
				kv("updated_at", now),
			}),
			kv("$inc", m{kv("attempts", 1), kv("attempts_left", -1)}),
		},
		options.FindOneAndUpdate().
			SetSort(m{kv("run_after", 1), kv("created_at", 1), kv("_id", 1)}).
			SetReturnDocument(options.After),
	).Decode(&d)
	if err != nil {
		return nil, notFound(err, "No job to run.")
	}
	if d.StartedAt == nil {
		// First start. A separate write because an update cannot set a
		// field only when it is null; the guard keeps a racing first
		// start from being overwritten.
		_, err := db.jobs.UpdateOne(ctx, m{kv("_id", d.ID), kv("started_at", nil)},
			m{kv("$set", m{kv("started_at", now)})})
		if err != nil {
			return nil, wrap(err)
		}
		d.StartedAt = &now
	}
	return d.job(), nil
}

// failExhausted fails every running job whose lease expired with no
// attempt left: its workers kept dying.
func (db *DB) failExhausted(ctx context.Context, now time.Time) error {
	expired := m{
		kv("state", string(ginflix.JobRunning)),
		kv("lease_expires_at", m{kv("$lt", now)}),
		kv("attempts_left", m{kv("$lte", 0)}),
	}
	docs, err := findAll[jobDoc](ctx, db.jobs, expired)
	if err != nil {
		return err
	}
	for _, d := range docs {
		// Worded as the sqlite store words it, so clients see one message.
		msg := fmt.Sprintf("The worker running this job stopped responding %d times; the job was given up.", d.Attempts)
		filter := append(m{kv("_id", d.ID)}, expired...)
		_, err := db.jobs.UpdateOne(ctx, filter, m{kv("$set", clearLease(m{
			kv("state", string(ginflix.JobFailed)),
			kv("error", msg),
			kv("finished_at", now),
			kv("updated_at", now),
		}))})
		if err != nil {
			return wrap(err)
		}
	}
	return nil
}

// ownedBy is the guard of the updates only the lease holder may make.
func ownedBy(id, owner string) bson.D {
	return m{kv("_id", id), kv("state", string(ginflix.JobRunning)), kv("lease_owner", owner)}
}

func lostLease(id, owner string) error {
	return ginflix.Errorf(ginflix.ECONFLICT, "Worker %s does not hold the lease of job %s.", owner, id)
}

// updateOwned applies update to owner's job and returns it; ECONFLICT
// when owner lost the lease.
func (db *DB) updateOwned(ctx context.Context, id, owner string, update bson.D) (*ginflix.Job, error) {
	var d jobDoc
	err := db.jobs.FindOneAndUpdate(ctx, ownedBy(id, owner), update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err == mongo.ErrNoDocuments {
		return nil, lostLease(id, owner)
	}
	if err != nil {
		return nil, wrap(err)
	}
	return d.job(), nil
}

// HeartbeatJob extends owner's lease and records progress.
func (db *DB) HeartbeatJob(ctx context.Context, id, owner string, ttl time.Duration, progress float64) error {
	defer db.serialize()()
	now := db.now()
	_, err := db.updateOwned(ctx, id, owner, m{kv("$set", m{
		kv("lease_expires_at", now.Add(ttl)),
		kv("progress", min(max(progress, 0), 1)),
		kv("updated_at", now),
	})})
	return err
}

// CompleteJob marks owner's job succeeded.
func (db *DB) CompleteJob(ctx context.Context, id, owner string) error {
	defer db.serialize()()
	now := db.now()
	_, err := db.updateOwned(ctx, id, owner, m{kv("$set", clearLease(m{
		kv("state", string(ginflix.JobSucceeded)),
		kv("progress", 1.0),
		kv("error", ""),
		kv("finished_at", now),
		kv("updated_at", now),
	}))})
	return err
}

// FailJob records msg: the job is queued again after backoff while it has
// attempts left and retryable is true, failed otherwise.
func (db *DB) FailJob(ctx context.Context, id, owner, msg string, retryable bool, backoff time.Duration) (*ginflix.Job, error) {
	defer db.serialize()()
	now := db.now()
	if retryable {
		filter := append(ownedBy(id, owner), kv("attempts_left", m{kv("$gt", 0)}))
		var d jobDoc
		err := db.jobs.FindOneAndUpdate(ctx, filter, m{kv("$set", clearLease(m{
			kv("state", string(ginflix.JobQueued)),
			kv("error", msg),
			kv("run_after", now.Add(max(backoff, 0))),
			kv("updated_at", now),
		}))}, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
		if err == nil {
			return d.job(), nil
		}
		if err != mongo.ErrNoDocuments {
			return nil, wrap(err)
		}
		// Not owned, or no attempt left: fail it below if owned.
	}
	return db.updateOwned(ctx, id, owner, m{kv("$set", clearLease(m{
		kv("state", string(ginflix.JobFailed)),
		kv("error", msg),
		kv("finished_at", now),
		kv("updated_at", now),
	}))})
}

// ReleaseJob queues owner's job again without counting the attempt.
func (db *DB) ReleaseJob(ctx context.Context, id, owner string) error {
	defer db.serialize()()
	now := db.now()
	_, err := db.updateOwned(ctx, id, owner, m{
		kv("$set", clearLease(m{
			kv("state", string(ginflix.JobQueued)),
			kv("run_after", now),
			kv("updated_at", now),
		})),
		kv("$inc", m{kv("attempts", -1), kv("attempts_left", 1)}),
	})
	return err
}

// RetryJob queues a failed job again with fresh attempts.
func (db *DB) RetryJob(ctx context.Context, id string) (*ginflix.Job, error) {
	defer db.serialize()()
	old, err := db.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	now := db.now()
	var d jobDoc
	// max_attempts never changes, so the one read above gives the value
	// of attempts_left; the state guard makes the update a no-op for a
	// job that is not failed (any more).
	err = db.jobs.FindOneAndUpdate(ctx,
		m{kv("_id", id), kv("state", string(ginflix.JobFailed))},
		m{kv("$set", clearLease(m{
			kv("state", string(ginflix.JobQueued)),
			kv("attempts", 0),
			kv("attempts_left", old.MaxAttempts),
			kv("error", ""),
			kv("progress", 0.0),
			kv("run_after", now),
			kv("finished_at", nil),
			kv("updated_at", now),
		}))},
		options.FindOneAndUpdate().SetReturnDocument(options.After),
	).Decode(&d)
	if err == mongo.ErrNoDocuments {
		return nil, ginflix.Errorf(ginflix.ECONFLICT, "Job %s is %s: only failed jobs are retried.", id, old.State)
	}
	if err != nil {
		return nil, wrap(err)
	}
	return d.job(), nil
}

// Job returns one job or ENOTFOUND.
func (db *DB) Job(ctx context.Context, id string) (*ginflix.Job, error) {
	var d jobDoc
	if err := db.jobs.FindOne(ctx, m{kv("_id", id)}).Decode(&d); err != nil {
		return nil, notFound(err, "Job %s not found.", id)
	}
	return d.job(), nil
}

// Jobs lists jobs, newest first.
func (db *DB) Jobs(ctx context.Context, f ginflix.JobFilter) ([]*ginflix.Job, error) {
	filter := m{}
	if f.State != "" {
		filter = append(filter, kv("state", string(f.State)))
	}
	if f.VideoID != "" {
		filter = append(filter, kv("video_id", f.VideoID))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultJobsLimit
	}
	docs, err := findAll[jobDoc](ctx, db.jobs, filter,
		options.Find().SetSort(m{kv("created_at", -1), kv("_id", -1)}).SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	out := make([]*ginflix.Job, len(docs))
	for i := range docs {
		out[i] = docs[i].job()
	}
	return out, nil
}

// CountJobs counts jobs by state: one count per state, each on the
// runnable index (it leads with state) on MongoDB.
func (db *DB) CountJobs(ctx context.Context) (map[ginflix.JobState]int, error) {
	out := map[ginflix.JobState]int{}
	for _, s := range ginflix.JobStates {
		n, err := db.jobs.CountDocuments(ctx, m{kv("state", string(s))})
		if err != nil {
			return nil, wrap(err)
		}
		out[s] = int(n)
	}
	return out, nil
}
