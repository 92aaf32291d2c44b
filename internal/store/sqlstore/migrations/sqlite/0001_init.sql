-- idgate schema, SQLite. Times are INTEGER unix nanoseconds (UTC), NULL for
-- "never"; durations INTEGER nanoseconds; lists and maps JSON text. STRICT
-- tables reject values of the wrong type instead of storing them.

CREATE TABLE projects (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	environment TEXT NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE pools (
	id                  TEXT PRIMARY KEY,
	project_id          TEXT NOT NULL UNIQUE REFERENCES projects (id),
	domain              TEXT NOT NULL,
	mfa_policy          TEXT NOT NULL,
	signing_alg         TEXT NOT NULL,
	password_min_length INTEGER NOT NULL,
	hosted_session_ttl  INTEGER NOT NULL,
	created_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE apps (
	client_id                   TEXT PRIMARY KEY,
	pool_id                     TEXT NOT NULL REFERENCES pools (id),
	project_id                  TEXT NOT NULL REFERENCES projects (id),
	name                        TEXT NOT NULL,
	type                        TEXT NOT NULL,
	secret_hash                 TEXT NOT NULL,
	callback_urls               TEXT NOT NULL,
	logout_urls                 TEXT NOT NULL,
	scopes                      TEXT NOT NULL,
	id_token_validity           INTEGER NOT NULL,
	access_token_validity       INTEGER NOT NULL,
	refresh_token_validity      INTEGER NOT NULL,
	id_token_unit               TEXT NOT NULL,
	access_token_unit           TEXT NOT NULL,
	refresh_token_unit          TEXT NOT NULL,
	hosted_session_survives_gso INTEGER NOT NULL,
	backchannel_logout_uri      TEXT NOT NULL,
	created_at                  INTEGER NOT NULL,
	updated_at                  INTEGER
) STRICT;
CREATE INDEX apps_pool ON apps (pool_id, created_at);

CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	project_id   TEXT NOT NULL REFERENCES projects (id),
	hash         TEXT NOT NULL UNIQUE,
	permissions  TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
) STRICT;
CREATE INDEX api_keys_project ON api_keys (project_id, created_at);

-- Sessions, tokens and codes keep user_sub without a foreign key: a deleted
-- user's sessions stay in the history (scrubbed) after the user row is gone.
CREATE TABLE users (
	sub            TEXT PRIMARY KEY,
	pool_id        TEXT NOT NULL REFERENCES pools (id),
	username       TEXT NOT NULL,
	email          TEXT, -- lower-cased; NULL when the user has none
	email_verified INTEGER NOT NULL,
	password_hash  TEXT NOT NULL,
	status         TEXT NOT NULL,
	profile        TEXT NOT NULL,
	roles          TEXT NOT NULL,
	user_groups    TEXT NOT NULL,
	actions        TEXT NOT NULL,
	attributes     TEXT NOT NULL,
	totp_secret    BLOB,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER,
	UNIQUE (pool_id, email)
) STRICT;
CREATE INDEX users_pool_created ON users (pool_id, created_at, sub);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	pool_id      TEXT NOT NULL REFERENCES pools (id),
	user_sub     TEXT NOT NULL,
	client_id    TEXT NOT NULL,
	auth_time    INTEGER,
	amr          TEXT NOT NULL,
	ip           TEXT NOT NULL,
	user_agent   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER,
	expires_at   INTEGER,
	ended_at     INTEGER,
	end_reason   TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (pool_id, user_sub, created_at);

CREATE TABLE refresh_tokens (
	hash             TEXT PRIMARY KEY,
	session_id       TEXT NOT NULL,
	client_id        TEXT NOT NULL,
	pool_id          TEXT NOT NULL REFERENCES pools (id),
	user_sub         TEXT NOT NULL,
	scope            TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	expires_at       INTEGER,
	rotated_at       INTEGER,
	successor_hash   TEXT NOT NULL,
	successor_sealed BLOB
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE auth_codes (
	hash                  TEXT PRIMARY KEY,
	client_id             TEXT NOT NULL,
	pool_id               TEXT NOT NULL REFERENCES pools (id),
	user_sub              TEXT NOT NULL,
	redirect_uri          TEXT NOT NULL,
	code_challenge        TEXT NOT NULL,
	code_challenge_method TEXT NOT NULL,
	nonce                 TEXT NOT NULL,
	scope                 TEXT NOT NULL,
	auth_time             INTEGER,
	amr                   TEXT NOT NULL,
	ip                    TEXT NOT NULL,
	user_agent            TEXT NOT NULL,
	created_at            INTEGER NOT NULL,
	expires_at            INTEGER,
	used_at               INTEGER,
	session_id            TEXT NOT NULL
) STRICT;
CREATE INDEX auth_codes_user ON auth_codes (pool_id, user_sub);

CREATE TABLE signing_keys (
	id          TEXT PRIMARY KEY,
	pool_id     TEXT NOT NULL REFERENCES pools (id),
	alg         TEXT NOT NULL,
	private_key BLOB NOT NULL,
	public_key  BLOB NOT NULL,
	status      TEXT NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX signing_keys_pool ON signing_keys (pool_id, created_at);

-- Append-only: the store has no UPDATE or DELETE of events. Each project's
-- events form a hash chain; the unique (project_id, prev_hash) index makes a
-- fork of the chain impossible even if two appends raced.
CREATE TABLE events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL UNIQUE,
	project_id TEXT NOT NULL,
	pool_id    TEXT NOT NULL,
	type       TEXT NOT NULL,
	actor_type TEXT NOT NULL,
	actor_id   TEXT NOT NULL,
	user_sub   TEXT NOT NULL,
	session_id TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	ip         TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	data       TEXT,
	created_at INTEGER NOT NULL,
	prev_hash  TEXT NOT NULL,
	hash       TEXT NOT NULL
) STRICT;
CREATE INDEX events_project ON events (project_id, seq);
CREATE UNIQUE INDEX events_chain ON events (project_id, prev_hash);
CREATE INDEX events_user ON events (user_sub, seq);

CREATE TABLE deletion_requests (
	hash       TEXT PRIMARY KEY,
	pool_id    TEXT NOT NULL REFERENCES pools (id),
	user_sub   TEXT NOT NULL,
	reason     TEXT NOT NULL,
	actor_type TEXT NOT NULL,
	actor_id   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER,
	used_at    INTEGER
) STRICT;
