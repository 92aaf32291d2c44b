package storetest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var eventTests = []test{
	{"EventChain", testEventChain},
	{"EventChainConcurrent", testEventChainConcurrent},
	{"AppendEventIDs", testAppendEventIDs},
	{"ListEventsFilters", testListEventsFilters},
	{"ListEventsPagination", testListEventsPagination},
}

// newEvent returns an event of the project with every field but the ones
// the store sets.
func newEvent(projectID, typ string, created time.Time) idgate.Event {
	return idgate.Event{
		ProjectID: projectID, PoolID: "eu_pool", Type: typ, ActorType: idgate.ActorUser, ActorID: "sub-1",
		UserSub: "sub-1", SessionID: "sid_1", ClientID: "client-1", IP: "192.0.2.1", UserAgent: "ua/1",
		Data: map[string]any{
			"email": "ada@example.com", "attempts": 3, "ratio": 0.25,
			"nested": map[string]any{"ok": true, "list": []string{"b", "a"}, "none": nil},
		},
		CreatedAt: created,
	}
}

var hexHash = regexp.MustCompile(`^[0-9a-f]{64}$`)

// sameEvent fails unless got (read back) equals want (as appended); Data
// is compared as JSON, since the store may decode numbers differently from
// the Go values that were appended.
func sameEvent(t *testing.T, what string, got, want idgate.Event) {
	t.Helper()
	gj, err := json.Marshal(got.Data)
	must(t, err)
	wj, err := json.Marshal(want.Data)
	must(t, err)
	if string(gj) != string(wj) {
		t.Fatalf("%s: Data = %s, want %s", what, gj, wj)
	}
	got.Data, want.Data = nil, nil
	equal(t, what, got, want)
}

// checkChain fails unless events (one project's, in Seq order) form a
// chain from the start: the first PrevHash is empty and every later one is
// the Hash of the event before it.
func checkChain(t *testing.T, events []idgate.Event) {
	t.Helper()
	prev := ""
	for i, e := range events {
		if e.PrevHash != prev {
			t.Fatalf("event %d (seq %d): PrevHash %q, want %q", i, e.Seq, e.PrevHash, prev)
		}
		if !hexHash.MatchString(e.Hash) {
			t.Fatalf("event %d: Hash %q is not 64 hex digits", i, e.Hash)
		}
		if i > 0 && e.Seq <= events[i-1].Seq {
			t.Fatalf("event %d: Seq %d not after %d", i, e.Seq, events[i-1].Seq)
		}
		prev = e.Hash
	}
}

func testEventChain(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	byProject := map[string][]idgate.Event{}
	for i, p := range []string{"prj_a", "prj_b", "prj_a", "prj_a", "prj_b"} {
		e := newEvent(p, idgate.EventLoginSucceeded, at(time.Duration(i)*time.Second))
		must(t, s.AppendEvent(ctx, &e))
		if e.Seq == 0 || e.ID == "" || e.Hash == "" {
			t.Fatalf("AppendEvent left Seq %d, ID %q, Hash %q unset", e.Seq, e.ID, e.Hash)
		}
		byProject[p] = append(byProject[p], e)
	}
	seen := map[string]bool{}
	for p, want := range byProject {
		checkChain(t, want)
		got, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: p})
		must(t, err)
		if len(got) != len(want) {
			t.Fatalf("ListEvents(%s) = %d events, want %d", p, len(got), len(want))
		}
		for i := range want {
			sameEvent(t, fmt.Sprintf("%s event %d", p, i), got[i], want[i])
			if seen[got[i].Hash] {
				t.Fatalf("hash %s repeats", got[i].Hash)
			}
			seen[got[i].Hash] = true
		}
	}
	all, err := s.ListEvents(ctx, idgate.EventFilter{})
	must(t, err)
	if len(all) != 5 {
		t.Fatalf("ListEvents() = %d events, want 5", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("ListEvents not in Seq order: %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
}

func testEventChainConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	const n = 20
	errs := make([]error, n)
	parallel(n, func(i int) {
		e := newEvent(fmt.Sprintf("prj_%d", i%2), idgate.EventTokenIssued, at(time.Duration(i)*time.Millisecond))
		errs[i] = s.AppendEvent(ctx, &e)
	})
	for _, err := range errs {
		must(t, err)
	}
	for _, p := range []string{"prj_0", "prj_1"} {
		events, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: p})
		must(t, err)
		if len(events) != n/2 {
			t.Fatalf("%s has %d events, want %d", p, len(events), n/2)
		}
		checkChain(t, events)
	}
}

func testAppendEventIDs(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	e := newEvent("prj_a", idgate.EventUserCreated, t0)
	e.ID = "evt_given"
	e.Data = nil
	must(t, s.AppendEvent(ctx, &e))
	if e.ID != "evt_given" {
		t.Fatalf("AppendEvent replaced the given id with %q", e.ID)
	}
	dup := newEvent("prj_a", idgate.EventUserCreated, t0)
	dup.ID = e.ID
	wantErr(t, s.AppendEvent(ctx, &dup), idgate.ErrConflict)

	got, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: "prj_a"})
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("ListEvents = %d events, want 1", len(got))
	}
	sameEvent(t, "event without data", got[0], e)
	next := newEvent("prj_a", idgate.EventUserCreated, at(time.Second))
	must(t, s.AppendEvent(ctx, &next))
	if next.PrevHash != e.Hash {
		t.Fatalf("a rejected duplicate broke the chain: PrevHash %q, want %q", next.PrevHash, e.Hash)
	}
}

func testListEventsFilters(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	type spec struct {
		project, user, typ string
		minute             int
	}
	specs := []spec{
		{"prj_a", "alice", idgate.EventLoginSucceeded, 0},
		{"prj_a", "bob", idgate.EventLoginFailed, 1},
		{"prj_b", "alice", idgate.EventLoginSucceeded, 2},
		{"prj_a", "alice", idgate.EventTokenIssued, 3},
		{"prj_a", "alice", idgate.EventLoginSucceeded, 4},
		{"prj_b", "carol", idgate.EventLoginFailed, 5},
	}
	var all []idgate.Event
	for _, sp := range specs {
		e := newEvent(sp.project, sp.typ, at(time.Duration(sp.minute)*time.Minute))
		e.UserSub = sp.user
		must(t, s.AppendEvent(ctx, &e))
		all = append(all, e)
	}
	pick := func(idx ...int) []idgate.Event {
		var out []idgate.Event
		for _, i := range idx {
			out = append(out, all[i])
		}
		return out
	}
	cases := []struct {
		name string
		f    idgate.EventFilter
		want []idgate.Event
	}{
		{"none", idgate.EventFilter{}, all},
		{"project", idgate.EventFilter{ProjectID: "prj_b"}, pick(2, 5)},
		{"user", idgate.EventFilter{UserSub: "alice"}, pick(0, 2, 3, 4)},
		{"type", idgate.EventFilter{Type: idgate.EventLoginFailed}, pick(1, 5)},
		{"project+user+type", idgate.EventFilter{ProjectID: "prj_a", UserSub: "alice", Type: idgate.EventLoginSucceeded}, pick(0, 4)},
		{"since (inclusive)", idgate.EventFilter{Since: at(3 * time.Minute)}, pick(3, 4, 5)},
		{"until (exclusive)", idgate.EventFilter{Until: at(2 * time.Minute)}, pick(0, 1)},
		{"window", idgate.EventFilter{Since: at(time.Minute), Until: at(4 * time.Minute)}, pick(1, 2, 3)},
		{"after seq", idgate.EventFilter{AfterSeq: all[3].Seq}, pick(4, 5)},
		{"limit", idgate.EventFilter{UserSub: "alice", Limit: 2}, pick(0, 2)},
		{"nothing", idgate.EventFilter{ProjectID: "prj_none"}, nil},
	}
	for _, c := range cases {
		got, err := s.ListEvents(ctx, c.f)
		must(t, err)
		if len(got) != len(c.want) {
			t.Fatalf("%s: %d events, want %d", c.name, len(got), len(c.want))
		}
		for i := range got {
			sameEvent(t, fmt.Sprintf("%s: event %d", c.name, i), got[i], c.want[i])
		}
	}
}

func testListEventsPagination(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	const n = 105
	for i := range n {
		e := newEvent("prj_a", idgate.EventTokenRefreshed, at(time.Duration(i)*time.Second))
		e.Data = map[string]any{"i": i}
		must(t, s.AppendEvent(ctx, &e))
	}
	first, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: "prj_a"})
	must(t, err)
	if len(first) != 100 {
		t.Fatalf("default limit returned %d events, want 100", len(first))
	}
	var walked []idgate.Event
	after := int64(0)
	for range n {
		page, err := s.ListEvents(ctx, idgate.EventFilter{ProjectID: "prj_a", AfterSeq: after, Limit: 10})
		must(t, err)
		if len(page) == 0 {
			break
		}
		walked = append(walked, page...)
		after = page[len(page)-1].Seq
	}
	if len(walked) != n {
		t.Fatalf("paging by AfterSeq walked %d events, want %d", len(walked), n)
	}
	checkChain(t, walked)
	for i, e := range walked {
		if fmt.Sprint(e.Data["i"]) != fmt.Sprint(i) {
			t.Fatalf("event %d carries i=%v", i, e.Data["i"])
		}
	}
}
