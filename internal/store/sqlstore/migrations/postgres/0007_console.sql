-- The admin console: administrators, their single-use tokens (setup link,
-- invitations, sign-ins waiting for a TOTP code) and browser sessions, plus
-- the indexes the dashboard's counts read.
CREATE TABLE admins (
	id             TEXT PRIMARY KEY,
	email          TEXT NOT NULL UNIQUE, -- lower-cased
	password_hash  TEXT NOT NULL,
	totp_secret    BYTEA NOT NULL,
	totp_last_step BIGINT NOT NULL DEFAULT 0,
	failed_logins  INTEGER NOT NULL DEFAULT 0,
	locked_until   BIGINT,
	invited_by     TEXT NOT NULL DEFAULT '',
	created_at     BIGINT NOT NULL,
	last_login_at  BIGINT
);

CREATE TABLE admin_tokens (
	hash       TEXT PRIMARY KEY,
	purpose    TEXT NOT NULL,
	email      TEXT NOT NULL DEFAULT '',
	admin_id   TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at    BIGINT
);
CREATE INDEX admin_tokens_purpose ON admin_tokens (purpose, created_at);

CREATE TABLE admin_sessions (
	hash         TEXT PRIMARY KEY,
	admin_id     TEXT NOT NULL REFERENCES admins (id),
	ip           TEXT NOT NULL,
	user_agent   TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	reauth_at    BIGINT,
	ended_at     BIGINT,
	end_reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX admin_sessions_expiry ON admin_sessions (expires_at);

CREATE INDEX events_type_time ON events (type, created_at);
CREATE INDEX sessions_active ON sessions (expires_at) WHERE ended_at IS NULL;
