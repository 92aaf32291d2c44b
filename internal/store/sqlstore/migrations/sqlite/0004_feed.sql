-- Revocation feed: one row per ended session, written in the transaction
-- that ends it. seq is the feed's watermark (AUTOINCREMENT: never reused,
-- even after pruning); the single SQLite writer assigns it in commit order.
CREATE TABLE revocations (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	pool_id    TEXT NOT NULL,
	session_id TEXT NOT NULL,
	user_sub   TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	reason     TEXT NOT NULL,
	ended_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX revocations_pool_seq ON revocations (pool_id, seq);
CREATE INDEX revocations_ended ON revocations (ended_at);
