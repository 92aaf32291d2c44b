// Package audit reads the tamper-evident event log: it verifies each
// project's hash chain (naming the first modified, deleted or reordered
// event), exports events as JSON Lines or CSV, and applies the retention
// setting with a purge that leaves a checkpoint so the chain still
// verifies.
package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// Problem is one break in a chain.
type Problem struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id,omitempty"`
	Kind   string `json:"kind"` // modified, deleted, truncated
	Detail string `json:"detail"`
}

// Report is the result of verifying one project's chain.
type Report struct {
	ProjectID string    `json:"projectId"`
	Events    int       `json:"events"`
	OK        bool      `json:"ok"`
	Problems  []Problem `json:"problems"`
}

const page = 1000

// Verify walks the project's events in order and checks that each event's
// hash matches its content, that each links to the one before, that a
// chain starting mid-way begins where a checkpoint says the purge stopped,
// and that the last event is the recorded head.
func Verify(ctx context.Context, s idgate.Store, projectID string) (Report, error) {
	r := Report{ProjectID: projectID, Problems: []Problem{}}
	head, err := s.EventHead(ctx, projectID)
	hasHead := err == nil
	if err != nil && !errors.Is(err, idgate.ErrNotFound) {
		return r, err
	}
	var prev *idgate.Event
	var first idgate.Event
	checkpoints := map[string]bool{}
	after := int64(0)
	for {
		evs, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: projectID, AfterSeq: after, Limit: page})
		if err != nil {
			return r, err
		}
		for i := range evs {
			e := evs[i]
			if r.Events == 0 {
				first = e
			}
			r.Events++
			if got := idgate.EventHash(e); got != e.Hash {
				r.Problems = append(r.Problems, Problem{Seq: e.Seq, ID: e.ID, Kind: "modified",
					Detail: fmt.Sprintf("event %d (%s, %s) does not match its hash: its content was changed", e.Seq, e.ID, e.Type)})
			}
			if prev != nil && e.PrevHash != prev.Hash {
				r.Problems = append(r.Problems, Problem{Seq: e.Seq, ID: e.ID, Kind: "deleted",
					Detail: fmt.Sprintf("event %d (%s) does not follow event %d: events between them were deleted, or event %d's hash was rewritten", e.Seq, e.ID, prev.Seq, prev.Seq)})
			}
			if e.Type == idgate.EventCheckpoint {
				if h, ok := e.Data["through_hash"].(string); ok {
					checkpoints[h] = true
				}
			}
			prev = &evs[i]
		}
		if len(evs) < page {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	if r.Events > 0 && first.PrevHash != "" && !checkpoints[first.PrevHash] {
		r.Problems = append(r.Problems, Problem{Seq: first.Seq, ID: first.ID, Kind: "deleted",
			Detail: fmt.Sprintf("the chain starts at event %d without a checkpoint: earlier events were deleted outside retention", first.Seq)})
	}
	switch {
	case hasHead && prev == nil:
		r.Problems = append(r.Problems, Problem{Seq: head.Seq, Kind: "truncated", Detail: "the project's events are gone but its chain head remains"})
	case hasHead && (prev.Seq != head.Seq || prev.Hash != head.Hash):
		r.Problems = append(r.Problems, Problem{Seq: head.Seq, Kind: "truncated",
			Detail: fmt.Sprintf("the chain ends at event %d but the head records event %d: the newest events were deleted or rewritten", prev.Seq, head.Seq)})
	case !hasHead && prev != nil:
		r.Problems = append(r.Problems, Problem{Seq: prev.Seq, Kind: "truncated", Detail: "the project's chain head is missing"})
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}

// Formats of Export.
const (
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// Record is an event as exported.
type Record struct {
	Seq       int64          `json:"seq"`
	ID        string         `json:"id"`
	ProjectID string         `json:"projectId"`
	PoolID    string         `json:"userPoolId"`
	Type      string         `json:"type"`
	ActorType string         `json:"actorType"`
	ActorID   string         `json:"actorId"`
	UserSub   string         `json:"sub"`
	SessionID string         `json:"sid"`
	ClientID  string         `json:"clientId"`
	IP        string         `json:"ip"`
	UserAgent string         `json:"userAgent"`
	Data      map[string]any `json:"data"`
	CreatedAt time.Time      `json:"createdAt"`
	PrevHash  string         `json:"prevHash"`
	Hash      string         `json:"hash"`
}

// ToRecord presents an event for export and the APIs.
func ToRecord(e idgate.Event) Record {
	return Record{Seq: e.Seq, ID: e.ID, ProjectID: e.ProjectID, PoolID: e.PoolID, Type: e.Type, ActorType: e.ActorType,
		ActorID: e.ActorID, UserSub: e.UserSub, SessionID: e.SessionID, ClientID: e.ClientID, IP: e.IP,
		UserAgent: e.UserAgent, Data: e.Data, CreatedAt: e.CreatedAt, PrevHash: e.PrevHash, Hash: e.Hash}
}

var csvHeader = []string{"seq", "id", "project_id", "pool_id", "type", "actor_type", "actor_id", "sub", "sid",
	"client_id", "ip", "user_agent", "data", "created_at", "prev_hash", "hash"}

// Export writes the events f selects (all pages) in format and returns how
// many it wrote.
func Export(ctx context.Context, s idgate.Store, f idgate.EventFilter, format string, w io.Writer) (int, error) {
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	switch format {
	case FormatJSONL:
	case FormatCSV:
		cw = csv.NewWriter(w)
		if err := cw.Write(csvHeader); err != nil {
			return 0, err
		}
	default:
		return 0, idgate.InvalidRequest("format", "must be jsonl or csv")
	}
	n := 0
	f.Limit = page
	for {
		evs, err := s.ListEvents(ctx, f)
		if err != nil {
			return n, err
		}
		for _, e := range evs {
			if cw == nil {
				if err := enc.Encode(ToRecord(e)); err != nil {
					return n, err
				}
			} else {
				data := ""
				if len(e.Data) > 0 {
					b, _ := json.Marshal(e.Data)
					data = string(b)
				}
				if err := cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.ID, e.ProjectID, e.PoolID, e.Type, e.ActorType,
					e.ActorID, e.UserSub, e.SessionID, e.ClientID, e.IP, e.UserAgent, data,
					e.CreatedAt.UTC().Format(time.RFC3339Nano), e.PrevHash, e.Hash}); err != nil {
					return n, err
				}
			}
			n++
		}
		if len(evs) < page {
			break
		}
		f.AfterSeq = evs[len(evs)-1].Seq
	}
	if cw != nil {
		cw.Flush()
		return n, cw.Error()
	}
	return n, nil
}

// Purge applies a retention period to every project: events older than
// now-retention are deleted behind a checkpoint. It returns the number of
// events deleted.
func Purge(ctx context.Context, s idgate.Store, retention time.Duration, now time.Time) (int, error) {
	if retention <= 0 {
		return 0, nil
	}
	projects, err := s.ListProjects(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, p := range projects {
		n, err := s.PurgeEvents(ctx, p.ID, now.Add(-retention), now)
		if err != nil {
			return total, fmt.Errorf("purge events of %s: %w", p.ID, err)
		}
		total += n
	}
	return total, nil
}
