-- Times are Unix milliseconds (UTC); lists are JSON arrays.
CREATE TABLE videos (
	seq                INTEGER PRIMARY KEY, -- stable rowid for the FTS index
	id                 TEXT    NOT NULL UNIQUE,
	title              TEXT    NOT NULL,
	title_key          TEXT    NOT NULL, -- folded title, for sort=title
	description        TEXT    NOT NULL DEFAULT '',
	tags               TEXT    NOT NULL DEFAULT '[]',
	category           TEXT    NOT NULL DEFAULT '',
	language           TEXT    NOT NULL DEFAULT '',
	status             TEXT    NOT NULL,
	published          INTEGER NOT NULL DEFAULT 0,
	duration           REAL    NOT NULL DEFAULT 0,
	width              INTEGER NOT NULL DEFAULT 0,
	height             INTEGER NOT NULL DEFAULT 0,
	source_key         TEXT    NOT NULL DEFAULT '',
	poster_key         TEXT    NOT NULL DEFAULT '',
	storyboard_key     TEXT    NOT NULL DEFAULT '',
	storyboard_vtt_key TEXT    NOT NULL DEFAULT '',
	uploader_id        TEXT    NOT NULL DEFAULT '',
	error              TEXT    NOT NULL DEFAULT '',
	views              INTEGER NOT NULL DEFAULT 0,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	published_at       INTEGER
);
-- Newest is seq order (insertion order, which is creation order), so the
-- rowid itself is that index; indexes on other columns end with it too.
CREATE INDEX videos_title ON videos (title_key, id);
CREATE INDEX videos_views ON videos (views DESC, id DESC);
CREATE INDEX videos_category ON videos (category);
CREATE INDEX videos_uploader ON videos (uploader_id);
CREATE INDEX videos_status ON videos (status);
-- Viewers only ever see playable videos: partial indexes per order, alone
-- and per category, keep their pages to a few index steps.
CREATE INDEX videos_playable ON videos (published) WHERE published = 1 AND status = 'ready';
CREATE INDEX videos_playable_title ON videos (title_key, id) WHERE published = 1 AND status = 'ready';
CREATE INDEX videos_playable_views ON videos (views DESC, id DESC) WHERE published = 1 AND status = 'ready';
CREATE INDEX videos_playable_category ON videos (category) WHERE published = 1 AND status = 'ready';
CREATE INDEX videos_playable_category_title ON videos (category, title_key, id) WHERE published = 1 AND status = 'ready';
CREATE INDEX videos_playable_category_views ON videos (category, views DESC, id DESC) WHERE published = 1 AND status = 'ready';

CREATE TABLE video_renditions (
	video_seq         INTEGER NOT NULL REFERENCES videos (seq) ON DELETE CASCADE,
	position          INTEGER NOT NULL,
	name              TEXT    NOT NULL,
	width             INTEGER NOT NULL,
	height            INTEGER NOT NULL,
	bandwidth         INTEGER NOT NULL,
	average_bandwidth INTEGER NOT NULL,
	codecs            TEXT    NOT NULL,
	frame_rate        REAL    NOT NULL,
	playlist_key      TEXT    NOT NULL,
	PRIMARY KEY (video_seq, position)
) WITHOUT ROWID;

CREATE TABLE video_tags (
	tag       TEXT    NOT NULL,
	video_seq INTEGER NOT NULL REFERENCES videos (seq) ON DELETE CASCADE,
	PRIMARY KEY (tag, video_seq)
) WITHOUT ROWID;
CREATE INDEX video_tags_video ON video_tags (video_seq);

-- remove_diacritics 2 folds « É » to « e », so search is accent- and
-- case-insensitive; prefix indexes make « electri* » cheap.
CREATE VIRTUAL TABLE videos_fts USING fts5 (
	title, description, tags, category,
	content = 'videos', content_rowid = 'seq',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4'
);

CREATE TRIGGER videos_ai AFTER INSERT ON videos BEGIN
	INSERT INTO videos_fts (rowid, title, description, tags, category)
	VALUES (new.seq, new.title, new.description, new.tags, new.category);
	INSERT INTO video_tags (tag, video_seq) SELECT value, new.seq FROM json_each(new.tags);
END;
CREATE TRIGGER videos_ad AFTER DELETE ON videos BEGIN
	INSERT INTO videos_fts (videos_fts, rowid, title, description, tags, category)
	VALUES ('delete', old.seq, old.title, old.description, old.tags, old.category);
END;
CREATE TRIGGER videos_au AFTER UPDATE OF title, description, tags, category ON videos BEGIN
	INSERT INTO videos_fts (videos_fts, rowid, title, description, tags, category)
	VALUES ('delete', old.seq, old.title, old.description, old.tags, old.category);
	INSERT INTO videos_fts (rowid, title, description, tags, category)
	VALUES (new.seq, new.title, new.description, new.tags, new.category);
	DELETE FROM video_tags WHERE video_seq = old.seq;
	INSERT INTO video_tags (tag, video_seq) SELECT value, new.seq FROM json_each(new.tags);
END;

CREATE TABLE users (
	id            TEXT    PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE,
	name          TEXT    NOT NULL DEFAULT '',
	roles         TEXT    NOT NULL DEFAULT '[]',
	password_hash TEXT    NOT NULL DEFAULT '',
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

CREATE TABLE watch_progress (
	user_id    TEXT    NOT NULL,
	video_id   TEXT    NOT NULL,
	position   REAL    NOT NULL,
	duration   REAL    NOT NULL,
	completed  INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, video_id)
) WITHOUT ROWID;
CREATE INDEX watch_progress_recent ON watch_progress (user_id, completed, updated_at DESC);
CREATE INDEX watch_progress_video ON watch_progress (video_id);

CREATE TABLE my_list (
	user_id  TEXT    NOT NULL,
	video_id TEXT    NOT NULL,
	added_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, video_id)
) WITHOUT ROWID;
CREATE INDEX my_list_recent ON my_list (user_id, added_at DESC, video_id DESC);
CREATE INDEX my_list_video ON my_list (video_id);

CREATE TABLE playback_events (
	id         TEXT    PRIMARY KEY,
	session_id TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	video_id   TEXT    NOT NULL,
	type       TEXT    NOT NULL,
	position   REAL    NOT NULL,
	rung       TEXT    NOT NULL DEFAULT '',
	value      REAL    NOT NULL DEFAULT 0,
	detail     TEXT    NOT NULL DEFAULT '',
	country    TEXT    NOT NULL DEFAULT '',
	at         INTEGER NOT NULL
);
CREATE INDEX playback_events_session ON playback_events (session_id, at, id);
CREATE INDEX playback_events_at ON playback_events (at);
CREATE INDEX playback_events_video ON playback_events (video_id);

CREATE TABLE jobs (
	id               TEXT    PRIMARY KEY,
	video_id         TEXT    NOT NULL,
	kind             TEXT    NOT NULL,
	state            TEXT    NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	max_attempts     INTEGER NOT NULL,
	progress         REAL    NOT NULL DEFAULT 0,
	error            TEXT    NOT NULL DEFAULT '',
	lease_owner      TEXT    NOT NULL DEFAULT '',
	lease_expires_at INTEGER,
	run_after        INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	started_at       INTEGER,
	finished_at      INTEGER
);
CREATE INDEX jobs_runnable ON jobs (state, run_after, created_at, id);
CREATE INDEX jobs_newest ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_video ON jobs (video_id);
