package client

import (
	"testing"
	"time"
)

// TestEndedSessionsBounded: entries are dropped once every token of the
// session has expired, and ends older than that are not even added.
func TestEndedSessionsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newEndedSessions(24*time.Hour, func() time.Time { return now })
	s.add("old", now.Add(-25*time.Hour))
	s.add("a", now.Add(-time.Hour))
	if s.has("old") || !s.has("a") {
		t.Fatal("add kept an expired end or lost a live one")
	}
	now = now.Add(24 * time.Hour) // "a" ended 25 h ago now
	s.add("b", now)
	if s.has("a") || !s.has("b") || s.len() != 1 {
		t.Fatalf("after a day: a=%v b=%v len=%d", s.has("a"), s.has("b"), s.len())
	}
}
