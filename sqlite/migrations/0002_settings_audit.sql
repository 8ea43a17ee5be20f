-- Runtime settings: one row, versioned for optimistic concurrency. The
-- values are one JSON object, so a setting added later needs no migration.
CREATE TABLE settings (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	version    INTEGER NOT NULL,
	body       TEXT    NOT NULL,
	updated_at INTEGER NOT NULL,
	updated_by TEXT    NOT NULL DEFAULT ''
);

-- The audit log, append-only, read newest first (ties by id) with keyset
-- paging, filtered by action or by target.
CREATE TABLE audit_log (
	id          TEXT    PRIMARY KEY,
	at          INTEGER NOT NULL,
	actor_id    TEXT    NOT NULL,
	actor_name  TEXT    NOT NULL DEFAULT '',
	actor_email TEXT    NOT NULL DEFAULT '',
	action      TEXT    NOT NULL,
	target_type TEXT    NOT NULL,
	target_id   TEXT    NOT NULL,
	detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_newest ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_action ON audit_log (action, at DESC, id DESC);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, at DESC, id DESC);
