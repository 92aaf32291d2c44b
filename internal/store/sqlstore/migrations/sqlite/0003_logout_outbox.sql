-- OIDC Back-Channel Logout outbox: one row per ended session of an app
-- with a back-channel logout URI, written in the transaction that ends it.
CREATE TABLE logout_outbox (
	id              TEXT PRIMARY KEY,
	pool_id         TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	session_id      TEXT NOT NULL,
	user_sub        TEXT NOT NULL,
	uri             TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at BIGINT NOT NULL,
	lease_until     BIGINT,
	delivered_at    BIGINT,
	failed_at       BIGINT,
	last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX logout_outbox_due ON logout_outbox (next_attempt_at) WHERE delivered_at IS NULL AND failed_at IS NULL;
CREATE INDEX logout_outbox_session ON logout_outbox (session_id);
