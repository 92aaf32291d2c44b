package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
)

// The revocation feed (GET /{poolId}/revocations) streams the pool's ended
// sessions as server-sent events, so that resource servers verifying
// access tokens locally refuse a revoked token within a second without a
// call per request. docs/revocation-feed.md describes the protocol.
//
// Each event's id is the store-assigned watermark (idgate.Revocation.Seq),
// so a client resumes with Last-Event-ID (or ?since=) and misses nothing.
// The handler polls the store every feedPoll, which also picks up sessions
// ended by other nodes, and wakes at once when this node ends one.
const (
	feedPoll      = 200 * time.Millisecond
	feedHeartbeat = 15 * time.Second
	feedBatch     = 500
	// feedWriteTimeout bounds each write; it replaces the server's
	// WriteTimeout, which would otherwise cut every stream after a minute.
	feedWriteTimeout = 30 * time.Second
	// feedRetryMillis is the reconnection delay suggested to EventSource
	// clients.
	feedRetryMillis = 1000
)

// feedEvent is the data of a session_ended event.
type feedEvent struct {
	SID      string    `json:"sid"`
	Sub      string    `json:"sub"`
	ClientID string    `json:"clientId"`
	EndedAt  time.Time `json:"endedAt"`
	Reason   string    `json:"reason"`
}

// feedHub wakes the streams of a pool when this process ends sessions of
// it, and ends every stream when the http.Server serving it shuts down
// (streams never go idle, so Shutdown would otherwise wait for them).
type feedHub struct {
	mu       sync.Mutex
	waiters  map[string]chan struct{}       // pool → closed on the next end
	stopping map[*http.Server]chan struct{} // closed by RegisterOnShutdown
}

func newFeedHub() *feedHub {
	return &feedHub{waiters: map[string]chan struct{}{}, stopping: map[*http.Server]chan struct{}{}}
}

// notify wakes the streams of the pool.
func (h *feedHub) notify(poolID string, _ []string) {
	h.mu.Lock()
	if ch, ok := h.waiters[poolID]; ok {
		close(ch)
		delete(h.waiters, poolID)
	}
	h.mu.Unlock()
}

// wait returns a channel closed the next time a session of the pool ends
// in this process.
func (h *feedHub) wait(poolID string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.waiters[poolID]
	if !ok {
		ch = make(chan struct{})
		h.waiters[poolID] = ch
	}
	return ch
}

// shutdown returns a channel closed when srv (the server of the request,
// nil under a bare handler) starts shutting down.
func (h *feedHub) shutdown(srv *http.Server) <-chan struct{} {
	if srv == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.stopping[srv]
	if !ok {
		ch = make(chan struct{})
		h.stopping[srv] = ch
		srv.RegisterOnShutdown(func() { close(ch) })
	}
	return ch
}

// revocationFeed returns the feed's handler. Streams wake at once when
// this process ends sessions (Deps.EndedSessions) and poll the store for
// the rest.
func (s *Server) revocationFeed() http.Handler {
	hub := newFeedHub()
	if s.d.EndedSessions != nil {
		s.d.EndedSessions.Listen(hub.notify)
	}
	return s.keyed(idgate.PermSessionRead, func(w http.ResponseWriter, r *http.Request, c tenant.Caller) error {
		return s.streamRevocations(w, r, c, hub)
	})
}

// feedStart reads where the client resumes: Last-Event-ID, else ?since=.
// ok is false when it sent neither (start from now).
func feedStart(r *http.Request) (after int64, ok bool, err error) {
	field, v := "Last-Event-ID", strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if v == "" {
		field, v = "since", strings.TrimSpace(r.URL.Query().Get("since"))
	}
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, idgate.InvalidRequest(field, "must be a watermark (a non-negative integer) from this feed")
	}
	return n, true, nil
}

// streamRevocations serves one feed connection: the replay after the
// client's watermark, then a ready event, then every revocation as it
// commits, with a heartbeat comment every feedHeartbeat.
func (s *Server) streamRevocations(w http.ResponseWriter, r *http.Request, c tenant.Caller, hub *feedHub) error {
	if r.PathValue("poolId") != c.Pool.ID {
		return idgate.NotFoundError("no user pool " + r.PathValue("poolId") + " in the API key's project")
	}
	after, resumed, err := feedStart(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	poolID := c.Pool.ID
	if !resumed {
		if after, err = s.d.Store.RevocationWatermark(ctx, poolID); err != nil {
			return err
		}
	}
	// Read the backlog before answering, so that a failing store is still
	// an ordinary JSON error.
	backlog, err := s.d.Store.ListRevocations(ctx, poolID, after, feedBatch)
	if err != nil {
		return err
	}

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // proxies must not buffer the stream
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{w: w, rc: rc}
	sw.printf("retry: %d\n\n", feedRetryMillis)

	stopping := hub.shutdown(serverOf(r))
	heartbeat := time.NewTimer(feedHeartbeat)
	defer heartbeat.Stop()
	poll := time.NewTicker(feedPoll)
	defer poll.Stop()
	ready := false
	for {
		// Register for a wake-up before reading, so an end that commits
		// during the read is not slept through (polling would catch it
		// anyway, a little later).
		wake := hub.wait(poolID)
		for {
			for _, rv := range backlog {
				sw.event(rv.Seq, "session_ended", feedEvent{SID: rv.SessionID, Sub: rv.UserSub, ClientID: rv.ClientID, EndedAt: rv.EndedAt, Reason: rv.Reason})
				after = rv.Seq
			}
			if len(backlog) < feedBatch {
				break
			}
			if backlog, err = s.d.Store.ListRevocations(ctx, poolID, after, feedBatch); err != nil {
				return s.endStream(ctx, err)
			}
		}
		if !ready {
			sw.event(after, "ready", map[string]int64{"watermark": after})
			ready = true
		}
		if sw.err != nil {
			return nil // the client went away
		}
		if sw.dirty {
			if err := rc.Flush(); err != nil {
				return nil
			}
			sw.dirty = false
			heartbeat.Reset(feedHeartbeat)
		}

		select {
		case <-ctx.Done():
			return nil
		case <-stopping:
			return nil
		case <-heartbeat.C:
			sw.printf(": heartbeat\n\n")
			heartbeat.Reset(feedHeartbeat)
		case <-wake:
		case <-poll.C:
		}
		if backlog, err = s.d.Store.ListRevocations(ctx, poolID, after, feedBatch); err != nil {
			return s.endStream(ctx, err)
		}
	}
}

// endStream ends a stream after a store failure. The response has started,
// so no error body can follow: the client reconnects and resumes.
func (s *Server) endStream(ctx context.Context, err error) error {
	if !errors.Is(err, context.Canceled) {
		s.d.Logger.WarnContext(ctx, "revocation feed: store read failed; ending the stream", "request_id", requestID(ctx), "err", err.Error())
	}
	return nil
}

// serverOf returns the http.Server serving r, nil when there is none.
func serverOf(r *http.Request) *http.Server {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	return srv
}

// sseWriter writes server-sent events, extending the write deadline before
// each write and remembering the first error.
type sseWriter struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	err   error
	dirty bool // written since the last flush
}

func (sw *sseWriter) printf(format string, args ...any) {
	if sw.err != nil {
		return
	}
	// Not every ResponseWriter supports deadlines (httptest recorders);
	// that is fine.
	_ = sw.rc.SetWriteDeadline(time.Now().Add(feedWriteTimeout))
	_, sw.err = fmt.Fprintf(sw.w, format, args...)
	sw.dirty = true
}

// event writes one event; data is JSON on a single line.
func (sw *sseWriter) event(id int64, name string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		sw.err = err
		return
	}
	sw.printf("id: %d\nevent: %s\ndata: %s\n\n", id, name, b)
}
