-- The head of each project's event chain, updated with every append, so
-- that deleting the newest events is detected by the audit verifier.
CREATE TABLE event_heads (
	project_id TEXT PRIMARY KEY,
	seq        BIGINT NOT NULL,
	hash       TEXT NOT NULL
);
INSERT INTO event_heads (project_id, seq, hash)
SELECT e.project_id, e.seq, e.hash FROM events e
WHERE e.seq = (SELECT max(e2.seq) FROM events e2 WHERE e2.project_id = e.project_id);
