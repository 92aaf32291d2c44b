package idgate

import (
	"context"
	"time"
)

// EventCheckpoint is the type of the event a purge appends: its data holds
// through_seq and through_hash, the last purged event, so that the chain
// that remains still verifies from its first event.
const EventCheckpoint = "audit.checkpoint"

// ChainHead is the latest event of a project's chain, kept apart from the
// events so that deleting the newest events is detected too.
type ChainHead struct {
	Seq  int64
	Hash string
}

// AuditStore is the storage the audit log adds to Store.
type AuditStore interface {
	// EventHead returns the project's chain head; ErrNotFound when the
	// project has no events.
	EventHead(ctx context.Context, projectID string) (ChainHead, error)
	// PurgeEvents deletes the project's events created before `before` and
	// appends a checkpoint event (EventCheckpoint, created at `at`) naming
	// the last one purged, in one transaction. It returns how many events
	// it deleted (0 and no checkpoint when none is that old).
	PurgeEvents(ctx context.Context, projectID string, before, at time.Time) (int, error)
}
