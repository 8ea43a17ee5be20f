-- Playback analytics. Sessions are swept with the raw events (retention);
-- the analytics_* tables are hourly aggregates per video, kept forever.
-- Hours are Unix milliseconds at the start of the hour (UTC).
CREATE TABLE playback_sessions (
	id            TEXT    PRIMARY KEY,
	user_id       TEXT    NOT NULL,
	video_id      TEXT    NOT NULL,
	country       TEXT    NOT NULL DEFAULT '',
	duration      REAL    NOT NULL DEFAULT 0,
	first_at      INTEGER NOT NULL,
	last_at       INTEGER NOT NULL,
	last_position REAL    NOT NULL DEFAULT 0,
	rung          TEXT    NOT NULL DEFAULT '',
	watched       REAL    NOT NULL DEFAULT 0,
	max_step      INTEGER NOT NULL DEFAULT -1,
	max_percent   REAL    NOT NULL DEFAULT 0,
	started       INTEGER NOT NULL DEFAULT 0,
	viewed        INTEGER NOT NULL DEFAULT 0,
	events        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX playback_sessions_last ON playback_sessions (last_at);

CREATE TABLE analytics_hourly (
	video_id         TEXT    NOT NULL,
	hour             INTEGER NOT NULL,
	views            INTEGER NOT NULL DEFAULT 0,
	sessions         INTEGER NOT NULL DEFAULT 0,
	unique_viewers   INTEGER NOT NULL DEFAULT 0,
	watch_seconds    REAL    NOT NULL DEFAULT 0,
	percent_sum      REAL    NOT NULL DEFAULT 0,
	startup_count    INTEGER NOT NULL DEFAULT 0,
	startup_ms_sum   REAL    NOT NULL DEFAULT 0,
	rebuffer_count   INTEGER NOT NULL DEFAULT 0,
	rebuffer_seconds REAL    NOT NULL DEFAULT 0,
	errors           INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (video_id, hour)
) WITHOUT ROWID;
CREATE INDEX analytics_hourly_hour ON analytics_hourly (hour);

-- Startup histogram (ginflix.StartupBucketsMs), time per rung, sessions
-- reaching each 5 % step of the duration, errors per detail.
CREATE TABLE analytics_hourly_startup (
	video_id TEXT    NOT NULL,
	hour     INTEGER NOT NULL,
	bucket   INTEGER NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (video_id, hour, bucket)
) WITHOUT ROWID;
CREATE TABLE analytics_hourly_rungs (
	video_id TEXT    NOT NULL,
	hour     INTEGER NOT NULL,
	rung     TEXT    NOT NULL,
	seconds  REAL    NOT NULL,
	PRIMARY KEY (video_id, hour, rung)
) WITHOUT ROWID;
CREATE TABLE analytics_hourly_reached (
	video_id TEXT    NOT NULL,
	hour     INTEGER NOT NULL,
	step     INTEGER NOT NULL,
	sessions INTEGER NOT NULL,
	PRIMARY KEY (video_id, hour, step)
) WITHOUT ROWID;
CREATE TABLE analytics_hourly_errors (
	video_id TEXT    NOT NULL,
	hour     INTEGER NOT NULL,
	detail   TEXT    NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (video_id, hour, detail)
) WITHOUT ROWID;
CREATE TABLE analytics_hourly_countries (
	video_id      TEXT    NOT NULL,
	hour          INTEGER NOT NULL,
	country       TEXT    NOT NULL,
	views         INTEGER NOT NULL DEFAULT 0,
	watch_seconds REAL    NOT NULL DEFAULT 0,
	PRIMARY KEY (video_id, hour, country)
) WITHOUT ROWID;
CREATE INDEX analytics_hourly_countries_hour ON analytics_hourly_countries (hour);

-- One row per user with a counted view of a video in an hour: unique
-- viewers over any window are its distinct users.
CREATE TABLE analytics_viewers (
	video_id TEXT    NOT NULL,
	hour     INTEGER NOT NULL,
	user_id  TEXT    NOT NULL,
	PRIMARY KEY (video_id, hour, user_id)
) WITHOUT ROWID;
CREATE INDEX analytics_viewers_hour ON analytics_viewers (hour, user_id);

CREATE INDEX jobs_finished ON jobs (kind, state, finished_at);
