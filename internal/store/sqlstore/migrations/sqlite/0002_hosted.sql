-- Hosted login: multi-step flows, hosted (SSO) sessions, TOTP replay
-- protection, recovery codes, known devices and per-account throttling.
-- Rows tied to a user go away with the user row (deletion erases MFA data).

CREATE TABLE login_flows (
	hash            TEXT PRIMARY KEY,
	pool_id         TEXT NOT NULL REFERENCES pools (id),
	purpose         TEXT NOT NULL,
	step            TEXT NOT NULL,
	user_sub        TEXT NOT NULL,
	email           TEXT NOT NULL,
	request         TEXT NOT NULL,
	code_hash       TEXT NOT NULL,
	code_expires_at INTEGER,
	code_sent_at    INTEGER,
	attempts        INTEGER NOT NULL,
	pending_secret  BLOB,
	auth_time       INTEGER,
	amr             TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX login_flows_expiry ON login_flows (expires_at);

CREATE TABLE hosted_sessions (
	hash       TEXT PRIMARY KEY,
	pool_id    TEXT NOT NULL REFERENCES pools (id),
	user_sub   TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
	auth_time  INTEGER,
	amr        TEXT NOT NULL,
	ip         TEXT NOT NULL,
	user_agent TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	ended_at   INTEGER,
	end_reason TEXT NOT NULL,
	start_seq  INTEGER NOT NULL
) STRICT;
CREATE INDEX hosted_sessions_user ON hosted_sessions (pool_id, user_sub);
CREATE INDEX hosted_sessions_expiry ON hosted_sessions (expires_at);

CREATE TABLE totp_steps (
	user_sub  TEXT PRIMARY KEY REFERENCES users (sub) ON DELETE CASCADE,
	pool_id   TEXT NOT NULL,
	last_step INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
	user_sub   TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
	pool_id    TEXT NOT NULL,
	hash       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	used_at    INTEGER,
	PRIMARY KEY (user_sub, hash)
) STRICT;

CREATE TABLE known_devices (
	hash         TEXT NOT NULL,
	user_sub     TEXT NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
	pool_id      TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	PRIMARY KEY (user_sub, hash)
) STRICT;
CREATE INDEX known_devices_expiry ON known_devices (expires_at);

CREATE TABLE login_throttles (
	pool_id         TEXT NOT NULL REFERENCES pools (id),
	key_hash        TEXT NOT NULL,
	failures        INTEGER NOT NULL,
	locked_until    INTEGER,
	last_failure_at INTEGER,
	PRIMARY KEY (pool_id, key_hash)
) STRICT;
CREATE INDEX login_throttles_last ON login_throttles (last_failure_at);
