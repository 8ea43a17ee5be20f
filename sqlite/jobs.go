package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ginflix/ginflix"
)

const jobColumns = `id, video_id, kind, state, attempts, max_attempts, progress, error, lease_owner,
	lease_expires_at, run_after, created_at, updated_at, started_at, finished_at`

func scanJob(row scanner) (*ginflix.Job, error) {
	var (
		j                               ginflix.Job
		runAfter, created, updated      int64
		leaseExpires, started, finished sql.NullInt64
	)
	err := row.Scan(&j.ID, &j.VideoID, &j.Kind, &j.State, &j.Attempts, &j.MaxAttempts, &j.Progress, &j.Error,
		&j.LeaseOwner, &leaseExpires, &runAfter, &created, &updated, &started, &finished)
	if err != nil {
		return nil, err
	}
	j.RunAfter, j.CreatedAt, j.UpdatedAt = fromMS(runAfter), fromMS(created), fromMS(updated)
	j.LeaseExpiresAt, j.StartedAt, j.FinishedAt = fromMSPtr(leaseExpires), fromMSPtr(started), fromMSPtr(finished)
	return &j, nil
}

func (db *DB) jobTx(tx *sql.Tx, ctx context.Context, id string) (*ginflix.Job, error) {
	j, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("job", id)
	}
	return j, err
}

// EnqueueJob stores a queued job, or returns the stored one with that id.
func (db *DB) EnqueueJob(ctx context.Context, j *ginflix.Job) (*ginflix.Job, error) {
	if j.ID == "" {
		j.ID = ginflix.NewID()
	}
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = ginflix.DefaultMaxAttempts
	}
	now := db.Now()
	if j.RunAfter.IsZero() {
		j.RunAfter = now
	}
	var out *ginflix.Job
	err := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO jobs (id, video_id, kind, state, max_attempts, run_after, created_at, updated_at)
			VALUES (?, ?, ?, 'queued', ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			j.ID, j.VideoID, j.Kind, j.MaxAttempts, ms(j.RunAfter), ms(now), ms(now))
		if err != nil {
			return err
		}
		out, err = db.jobTx(tx, ctx, j.ID)
		return err
	})
	return out, err
}

// LeaseJob hands the oldest runnable job to owner.
func (db *DB) LeaseJob(ctx context.Context, owner string, ttl time.Duration) (*ginflix.Job, error) {
	now := db.Now()
	var j *ginflix.Job
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'failed', lease_owner = '', lease_expires_at = NULL,
			finished_at = ?1, updated_at = ?1,
			error = 'The worker running this job stopped responding ' || attempts || ' times; the job was given up.'
			WHERE state = 'running' AND lease_expires_at < ?1 AND attempts >= max_attempts`, ms(now)); err != nil {
			return err
		}
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'running', lease_owner = ?1,
			lease_expires_at = ?2, attempts = attempts + 1, started_at = COALESCE(started_at, ?3), updated_at = ?3
			WHERE id = (SELECT id FROM jobs
				WHERE (state = 'queued' AND run_after <= ?3)
				   OR (state = 'running' AND lease_expires_at < ?3 AND attempts < max_attempts)
				ORDER BY run_after, created_at, id LIMIT 1)
			RETURNING `+jobColumns, owner, ms(now.Add(ttl)), ms(now)))
		if errors.Is(err, sql.ErrNoRows) {
			return nil // commit the sweep above all the same
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if j == nil {
		return nil, ginflix.Errorf(ginflix.ENOTFOUND, "No job to run.")
	}
	return j, nil
}

// ownedUpdate runs an UPDATE guarded by the lease and returns the job.
func (db *DB) ownedUpdate(ctx context.Context, id, owner, set string, args ...any) (*ginflix.Job, error) {
	var j *ginflix.Job
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET `+set+`
			WHERE id = ?1 AND state = 'running' AND lease_owner = ?2 RETURNING `+jobColumns,
			append([]any{id, owner}, args...)...))
		if errors.Is(err, sql.ErrNoRows) {
			if _, err := db.jobTx(tx, ctx, id); err != nil {
				return err
			}
			return ginflix.Errorf(ginflix.ECONFLICT, "Worker %q no longer holds job %s.", owner, id)
		}
		return err
	})
	return j, err
}

// HeartbeatJob extends owner's lease.
func (db *DB) HeartbeatJob(ctx context.Context, id, owner string, ttl time.Duration, progress float64) error {
	now := db.Now()
	_, err := db.ownedUpdate(ctx, id, owner, `lease_expires_at = ?3, progress = ?4, updated_at = ?5`,
		ms(now.Add(ttl)), min(max(progress, 0), 1), ms(now))
	return err
}

// CompleteJob marks owner's job succeeded.
func (db *DB) CompleteJob(ctx context.Context, id, owner string) error {
	now := ms(db.Now())
	_, err := db.ownedUpdate(ctx, id, owner, `state = 'succeeded', progress = 1, error = '', lease_owner = '',
		lease_expires_at = NULL, finished_at = ?3, updated_at = ?3`, now)
	return err
}

// FailJob queues the job again after backoff while it has attempts left.
func (db *DB) FailJob(ctx context.Context, id, owner, msg string, retryable bool, backoff time.Duration) (*ginflix.Job, error) {
	now := db.Now()
	return db.ownedUpdate(ctx, id, owner, `error = ?3, lease_owner = '', lease_expires_at = NULL, updated_at = ?4,
		state = CASE WHEN ?5 AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
		run_after = CASE WHEN ?5 AND attempts < max_attempts THEN ?6 ELSE run_after END,
		finished_at = CASE WHEN ?5 AND attempts < max_attempts THEN NULL ELSE ?4 END`,
		msg, ms(now), retryable, ms(now.Add(backoff)))
}

// ReleaseJob returns a job to the queue without spending its attempt.
func (db *DB) ReleaseJob(ctx context.Context, id, owner string) error {
	_, err := db.ownedUpdate(ctx, id, owner, `state = 'queued', attempts = max(attempts - 1, 0), lease_owner = '',
		lease_expires_at = NULL, updated_at = ?3`, ms(db.Now()))
	return err
}

// RetryJob queues a failed job again with fresh attempts.
func (db *DB) RetryJob(ctx context.Context, id string) (*ginflix.Job, error) {
	now := ms(db.Now())
	var j *ginflix.Job
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'queued', attempts = 0, error = '',
			progress = 0, run_after = ?2, finished_at = NULL, updated_at = ?2
			WHERE id = ?1 AND state = 'failed' RETURNING `+jobColumns, id, now))
		if errors.Is(err, sql.ErrNoRows) {
			cur, err := db.jobTx(tx, ctx, id)
			if err != nil {
				return err
			}
			return ginflix.Errorf(ginflix.ECONFLICT, "Job %s is %s; only failed jobs can be retried.", id, cur.State)
		}
		return err
	})
	return j, err
}

// Job returns one job.
func (db *DB) Job(ctx context.Context, id string) (*ginflix.Job, error) {
	j, err := scanJob(db.read.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("job", id)
	}
	return j, err
}

// Jobs lists jobs, newest first.
func (db *DB) Jobs(ctx context.Context, f ginflix.JobFilter) ([]*ginflix.Job, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	q, args := `SELECT `+jobColumns+` FROM jobs WHERE 1 = 1`, []any{}
	if f.State != "" {
		q, args = q+` AND state = ?`, append(args, f.State)
	}
	if f.VideoID != "" {
		q, args = q+` AND video_id = ?`, append(args, f.VideoID)
	}
	rows, err := db.read.QueryContext(ctx, q+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, f.Limit), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*ginflix.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// CountJobs counts jobs by state.
func (db *DB) CountJobs(ctx context.Context) (map[ginflix.JobState]int, error) {
	out := map[ginflix.JobState]int{}
	for _, s := range ginflix.JobStates {
		out[s] = 0
	}
	rows, err := db.read.QueryContext(ctx, `SELECT state, count(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			state string
			n     int
		)
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		out[ginflix.JobState(state)] = n
	}
	return out, rows.Err()
}
