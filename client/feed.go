package client

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// endedSessions is the set of ended session ids learned from the feed.
// An entry is useless once every token of the session has expired, so
// entries older than retention (the longest token lifetime plus leeway)
// are dropped: the set stays bounded by the revocations of that window.
type endedSessions struct {
	retention time.Duration
	now       func() time.Time

	mu        sync.RWMutex
	ended     map[string]time.Time // sid → when it ended
	lastPrune time.Time
}

func newEndedSessions(retention time.Duration, now func() time.Time) *endedSessions {
	return &endedSessions{retention: retention, now: now, ended: map[string]time.Time{}}
}

func (s *endedSessions) has(sid string) bool {
	s.mu.RLock()
	_, ok := s.ended[sid]
	s.mu.RUnlock()
	return ok
}

func (s *endedSessions) add(sid string, endedAt time.Time) {
	now := s.now()
	if endedAt.IsZero() {
		endedAt = now
	}
	if endedAt.Before(now.Add(-s.retention)) {
		return // its tokens have all expired
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended[sid] = endedAt
	if now.Sub(s.lastPrune) > time.Minute {
		s.lastPrune = now
		cutoff := now.Add(-s.retention)
		for k, at := range s.ended {
			if at.Before(cutoff) {
				delete(s.ended, k)
			}
		}
	}
}

func (s *endedSessions) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.ended)
}

// feedFollower keeps a connection to the pool's revocation feed
// (GET /{poolId}/revocations, server-sent events) and fills an
// endedSessions. It resumes after a reconnection with Last-Event-ID, so
// no revocation is missed; it starts with since=0, replaying every
// revocation the server keeps, so a restarted resource server also learns
// of sessions that ended while it was down.
//
// The feed counts as up from the server's ready event (sent once the
// replay is done) until the stream breaks or stays silent for idleTimeout
// (the server sends a heartbeat every 15 s).
type feedFollower struct {
	url         string
	apiKey      string
	hc          *http.Client
	set         *endedSessions
	idleTimeout time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration
	logger      *slog.Logger

	up       atomic.Bool
	mu       sync.Mutex
	lastID   string // the last event id received; "" before the first
	connects atomic.Int64
}

// watermark returns the last event id received.
func (f *feedFollower) watermark() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastID
}

// run follows the feed until ctx ends, reconnecting with backoff.
func (f *feedFollower) run(ctx context.Context) {
	attempt := 0
	for ctx.Err() == nil {
		ready, err := f.follow(ctx)
		f.up.Store(false)
		if ctx.Err() != nil {
			return
		}
		if ready {
			attempt = 0
		}
		f.logger.LogAttrs(ctx, slog.LevelWarn, "idgate revocation feed disconnected; verifying tokens with idgate until it is back",
			slog.String("err", fmt.Sprint(err)), slog.Int("attempt", attempt))
		if sleep(ctx, backoff(f.minBackoff, f.maxBackoff, attempt)) != nil {
			return
		}
		attempt++
	}
}

// follow runs one connection; ready reports whether it got as far as the
// ready event.
func (f *feedFollower) follow(ctx context.Context) (ready bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	last := f.watermark()
	u := f.url
	if last == "" {
		u += "?since=0"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("x-api-key", f.apiKey)
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	f.connects.Add(1)
	resp, err := f.hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return false, apiError(resp, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return false, fmt.Errorf("revocation feed answered %q, not an event stream", ct)
	}
	watchdog := time.AfterFunc(f.idleTimeout, cancel)
	defer watchdog.Stop()

	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var id, event, data string
	hasID := false
	for sc.Scan() {
		watchdog.Reset(f.idleTimeout)
		line := sc.Text()
		if line == "" { // dispatch
			if hasID {
				f.mu.Lock()
				f.lastID = id
				f.mu.Unlock()
			}
			switch event {
			case "session_ended":
				var ev struct {
					SID     string    `json:"sid"`
					EndedAt time.Time `json:"endedAt"`
				}
				if err := json.Unmarshal([]byte(data), &ev); err == nil && ev.SID != "" {
					f.set.add(ev.SID, ev.EndedAt)
				}
			case "ready":
				ready = true
				f.up.Store(true)
			}
			event, data, hasID = "", "", false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // comment (heartbeat)
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id, hasID = value, true
		case "event":
			event = value
		case "data":
			if data != "" {
				data += "\n"
			}
			data += value
		}
	}
	if err := sc.Err(); err != nil {
		return ready, err
	}
	return ready, io.ErrUnexpectedEOF
}
