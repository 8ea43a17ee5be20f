-- Refresh token families of the built-in OpenID provider: one row per
-- sign-in at a client, holding the SHA-256 of the current token's secret
-- only. A refresh replaces the hash with a conditional update (id and old
-- hash), so of two refreshes with the same token one wins. Rows are
-- deleted by family, by sign-in (session_id), by user at a client
-- (subject, client_id), and when they expire. Scopes and amr are JSON
-- arrays; times are Unix milliseconds (UTC).
CREATE TABLE refresh_families (
	id          TEXT    PRIMARY KEY,
	secret_hash BLOB    NOT NULL,
	client_id   TEXT    NOT NULL,
	subject     TEXT    NOT NULL,
	scopes      TEXT    NOT NULL DEFAULT '[]',
	amr         TEXT    NOT NULL DEFAULT '[]',
	auth_time   INTEGER NOT NULL,
	session_id  TEXT    NOT NULL DEFAULT '',
	expires     INTEGER NOT NULL
);
CREATE INDEX refresh_families_session ON refresh_families (session_id);
CREATE INDEX refresh_families_subject_client ON refresh_families (subject, client_id);
CREATE INDEX refresh_families_expires ON refresh_families (expires);
