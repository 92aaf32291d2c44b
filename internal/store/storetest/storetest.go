// Package storetest is the conformance suite of idgate.Store: the behaviour
// every storage backend must show, written once against the interface and
// run by each backend's tests (see Run). A behaviour the rest of idgate
// relies on belongs here rather than in one backend's tests.
package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// Run runs the conformance suite, one parallel subtest per behaviour, each
// on a fresh, empty store from newStore. newStore must arrange the store's
// cleanup itself (t.Cleanup) and may call t.Skip.
func Run(t *testing.T, newStore func(t *testing.T) idgate.Store) {
	groups := [][]test{
		projectTests, appTests, userTests, sessionTests, tokenTests, keyTests, eventTests, txTests, logoutTests, hostedTests, auditTests, feedTests, consoleTests,
	}
	for _, group := range groups {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				tc.run(t, newStore(t))
			})
		}
	}
}

// test is one behaviour of the suite.
type test struct {
	name string
	run  func(t *testing.T, s idgate.Store)
}

// t0 is the suite's epoch: UTC, with nanoseconds, so that round trips
// prove no precision is lost.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// at returns t0 + d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// errBoom is the error the suite's callbacks fail with.
var errBoom = errors.New("boom")

// fixture is a project and its pool, the parents most records need.
type fixture struct {
	Project idgate.Project
	Pool    idgate.Pool
}

// newFixture creates a project with its pool.
func newFixture(t *testing.T, s idgate.Store) fixture {
	t.Helper()
	ctx := t.Context()
	p := idgate.Project{ID: idgate.NewID("prj_"), Name: "Acme", Environment: idgate.EnvSandbox, CreatedAt: t0}
	must(t, s.CreateProject(ctx, p))
	pool := idgate.Pool{
		ID: idgate.NewPoolID("eu"), ProjectID: p.ID, Domain: "acme-" + idgate.RandomString("abcdefgh", 6),
		MFAPolicy: idgate.MFAOptional, SigningAlg: idgate.AlgES256, PasswordMinLength: 12,
		HostedSessionTTL: 8 * time.Hour, CreatedAt: t0,
	}
	must(t, s.CreatePool(ctx, pool))
	return fixture{Project: p, Pool: pool}
}

// must fails the test now when err is not nil.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// equal fails the test unless got and want are deeply equal, showing both
// as JSON (which prints what pointers point to).
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got: %s\nwant: %s", what, dump(got), dump(want))
	}
}

func dump(v any) string {
	b, err := json.MarshalIndent(v, "      ", "  ")
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// parallel runs fn(i) for i in [0, n) on n goroutines released together,
// and waits for all of them.
func parallel(n int, fn func(i int)) {
	start := make(chan struct{})
	done := make(chan struct{}, n)
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			<-start
			fn(i)
		}()
	}
	close(start)
	for range n {
		<-done
	}
}
