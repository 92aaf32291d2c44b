package idgate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// EventHash returns the chain hash of e: the lowercase hex SHA-256 of
//
//	e.PrevHash + "\n" + canonical JSON of e without Seq and Hash
//
// where the canonical JSON is one object with the keys, in this order, id,
// project_id, pool_id, type, actor_type, actor_id, user_sub, session_id,
// client_id, ip, user_agent, data, created_at (RFC 3339 with nanoseconds, in
// UTC) and prev_hash. data is null when e.Data is empty; otherwise it is
// e.Data encoded, decoded and encoded again by encoding/json, which sorts
// the keys of every object and keeps numbers' literal text, so the hash
// depends on the JSON value of Data, not on the Go types that built it.
//
// Recomputing EventHash over an event read back from the store yields its
// Hash, which is how the audit verifier checks a project's chain. It returns ""
// when e.Data cannot be encoded as JSON (AppendEvent refuses such events).
func EventHash(e Event) string {
	data, err := CanonicalEventData(e.Data)
	if err != nil {
		return ""
	}
	return eventHash(e, data)
}

// hashedEvent fixes the fields, names and order EventHash covers.
type hashedEvent struct {
	ID        string          `json:"id"`
	ProjectID string          `json:"project_id"`
	PoolID    string          `json:"pool_id"`
	Type      string          `json:"type"`
	ActorType string          `json:"actor_type"`
	ActorID   string          `json:"actor_id"`
	UserSub   string          `json:"user_sub"`
	SessionID string          `json:"session_id"`
	ClientID  string          `json:"client_id"`
	IP        string          `json:"ip"`
	UserAgent string          `json:"user_agent"`
	Data      json.RawMessage `json:"data"`
	CreatedAt string          `json:"created_at"`
	PrevHash  string          `json:"prev_hash"`
}

func eventHash(e Event, data json.RawMessage) string {
	if data == nil {
		data = json.RawMessage("null")
	}
	body, err := json.Marshal(hashedEvent{
		ID: e.ID, ProjectID: e.ProjectID, PoolID: e.PoolID, Type: e.Type, ActorType: e.ActorType,
		ActorID: e.ActorID, UserSub: e.UserSub, SessionID: e.SessionID, ClientID: e.ClientID, IP: e.IP,
		UserAgent: e.UserAgent, Data: data, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano),
		PrevHash: e.PrevHash,
	})
	if err != nil { // unreachable: every field is a string or valid JSON
		return ""
	}
	h := sha256.New()
	h.Write([]byte(e.PrevHash + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// CanonicalEventData returns the canonical JSON of an event's Data (see
// EventHash), or nil when it is empty. Stores keep this form, so that an
// event read back hashes the same.
func CanonicalEventData(m map[string]any) (json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	first, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	v, err := decodeJSONNumbers(first)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// decodeJSONNumbers decodes JSON keeping numbers as json.Number.
func decodeJSONNumbers(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}
