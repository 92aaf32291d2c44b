-- Revocation feed: one row per ended session, written in the transaction
-- that ends it. seq is the feed's watermark; writers take a transaction
-- advisory lock before drawing it, so seq order is commit order across
-- nodes (see sqlstore/feed.go).
CREATE TABLE revocations (
	seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	pool_id    TEXT NOT NULL,
	session_id TEXT NOT NULL,
	user_sub   TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	reason     TEXT NOT NULL,
	ended_at   BIGINT NOT NULL
);
CREATE INDEX revocations_pool_seq ON revocations (pool_id, seq);
CREATE INDEX revocations_ended ON revocations (ended_at);
