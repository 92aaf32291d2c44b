package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var tokenTests = []test{
	{"RefreshTokens", testRefreshTokens},
	{"RotateRefreshToken", testRotateRefreshToken},
	{"RotateRefreshTokenConcurrent", testRotateRefreshTokenConcurrent},
	{"AuthCodes", testAuthCodes},
	{"RedeemAuthCodeConcurrent", testRedeemAuthCodeConcurrent},
	{"DeletionRequests", testDeletionRequests},
	{"UseDeletionRequestConcurrent", testUseDeletionRequestConcurrent},
}

func newRefreshToken(f fixture, hash string, created time.Time) idgate.RefreshToken {
	return idgate.RefreshToken{
		Hash: hash, SessionID: "sid_1", ClientID: "client-1", PoolID: f.Pool.ID, UserSub: "sub-1",
		Scope: "openid email offline_access", CreatedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour),
	}
}

func testRefreshTokens(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	plain := newRefreshToken(f, "rt_plain", t0)
	rotated := newRefreshToken(f, "rt_rotated", t0)
	rotated.RotatedAt = at(time.Hour)
	rotated.SuccessorHash = "rt_next"
	rotated.SuccessorSealed = []byte("sealed successor")
	must(t, s.CreateRefreshToken(ctx, plain))
	must(t, s.CreateRefreshToken(ctx, rotated))

	for _, want := range []idgate.RefreshToken{plain, rotated} {
		got, err := s.GetRefreshToken(ctx, want.Hash)
		must(t, err)
		equal(t, "GetRefreshToken "+want.Hash, got, want)
	}
	wantErr(t, s.CreateRefreshToken(ctx, newRefreshToken(f, plain.Hash, t0)), idgate.ErrConflict)
	_, err := s.GetRefreshToken(ctx, "rt_missing")
	wantErr(t, err, idgate.ErrNotFound)
}

func testRotateRefreshToken(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	old := newRefreshToken(f, "rt_1", t0)
	must(t, s.CreateRefreshToken(ctx, old))
	next := newRefreshToken(f, "rt_2", at(time.Hour))
	sealed := []byte{0xde, 0xad, 0xbe, 0xef}

	must(t, s.RotateRefreshToken(ctx, old.Hash, at(time.Hour), next, sealed))
	gotOld, err := s.GetRefreshToken(ctx, old.Hash)
	must(t, err)
	wantOld := old
	wantOld.RotatedAt = at(time.Hour)
	wantOld.SuccessorHash = next.Hash
	wantOld.SuccessorSealed = sealed
	equal(t, "rotated token", gotOld, wantOld)
	gotNext, err := s.GetRefreshToken(ctx, next.Hash)
	must(t, err)
	equal(t, "successor", gotNext, next)

	again := newRefreshToken(f, "rt_3", at(2*time.Hour))
	wantErr(t, s.RotateRefreshToken(ctx, old.Hash, at(2*time.Hour), again, sealed), idgate.ErrConflict)
	_, err = s.GetRefreshToken(ctx, again.Hash)
	wantErr(t, err, idgate.ErrNotFound) // the losing successor is not stored
	wantErr(t, s.RotateRefreshToken(ctx, "rt_missing", t0, newRefreshToken(f, "rt_4", t0), sealed), idgate.ErrNotFound)

	// A successor whose hash is taken fails the rotation as a whole.
	must(t, s.CreateRefreshToken(ctx, newRefreshToken(f, "rt_5", t0)))
	err = s.RotateRefreshToken(ctx, next.Hash, at(3*time.Hour), newRefreshToken(f, "rt_5", t0), sealed)
	wantErr(t, err, idgate.ErrConflict)
	gotNext, err = s.GetRefreshToken(ctx, next.Hash)
	must(t, err)
	equal(t, "token after a failed rotation", gotNext, next)
}

func testRotateRefreshTokenConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	old := newRefreshToken(f, "rt_old", t0)
	must(t, s.CreateRefreshToken(ctx, old))
	const n = 20
	errs := make([]error, n)
	parallel(n, func(i int) {
		next := newRefreshToken(f, fmt.Sprintf("rt_next_%02d", i), at(time.Minute))
		errs[i] = s.RotateRefreshToken(ctx, old.Hash, at(time.Minute), next, []byte{byte(i)})
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("rotations %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, idgate.ErrConflict):
			t.Fatalf("rotation %d: error = %v, want ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no rotation succeeded")
	}
	got, err := s.GetRefreshToken(ctx, old.Hash)
	must(t, err)
	if want := fmt.Sprintf("rt_next_%02d", winner); got.SuccessorHash != want || got.SuccessorSealed[0] != byte(winner) {
		t.Fatalf("successor recorded = %q, want the winner's %q", got.SuccessorHash, want)
	}
	for i := range n {
		_, err := s.GetRefreshToken(ctx, fmt.Sprintf("rt_next_%02d", i))
		if i == winner {
			must(t, err)
		} else {
			wantErr(t, err, idgate.ErrNotFound)
		}
	}
}

func newAuthCode(f fixture, hash string, created time.Time) idgate.AuthCode {
	return idgate.AuthCode{
		Hash: hash, ClientID: "client-1", PoolID: f.Pool.ID, UserSub: "sub-1",
		RedirectURI: "https://app.example/cb", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", Nonce: "n-0S6_WzA2Mj", Scope: "openid email", AuthTime: created.Add(-time.Second),
		AMR: []string{"pwd"}, IP: "198.51.100.4", UserAgent: "curl/8.0", CreatedAt: created,
		ExpiresAt: created.Add(time.Minute),
	}
}

func testAuthCodes(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	c := newAuthCode(f, "code_1", t0)
	must(t, s.CreateAuthCode(ctx, c))
	wantErr(t, s.CreateAuthCode(ctx, newAuthCode(f, c.Hash, t0)), idgate.ErrConflict)

	got, err := s.RedeemAuthCode(ctx, c.Hash, at(time.Second))
	must(t, err)
	want := c
	want.UsedAt = at(time.Second)
	equal(t, "redeemed code", got, want)

	must(t, s.SetAuthCodeSession(ctx, c.Hash, "sid_42"))
	got, err = s.RedeemAuthCode(ctx, c.Hash, at(2*time.Second))
	wantErr(t, err, idgate.ErrUsed)
	want.SessionID = "sid_42"
	equal(t, "code returned with ErrUsed (unchanged, with its session)", got, want)

	_, err = s.RedeemAuthCode(ctx, "code_missing", t0)
	wantErr(t, err, idgate.ErrNotFound)
	wantErr(t, s.SetAuthCodeSession(ctx, "code_missing", "sid_1"), idgate.ErrNotFound)

	// A code created with every optional field empty round-trips too.
	bare := idgate.AuthCode{Hash: "code_bare", ClientID: "c", PoolID: f.Pool.ID, UserSub: "u", CreatedAt: t0}
	must(t, s.CreateAuthCode(ctx, bare))
	got, err = s.RedeemAuthCode(ctx, bare.Hash, at(time.Minute))
	must(t, err)
	bare.UsedAt = at(time.Minute)
	equal(t, "redeemed bare code", got, bare)
}

func testRedeemAuthCodeConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	c := newAuthCode(f, "code_1", t0)
	must(t, s.CreateAuthCode(ctx, c))
	const n = 20
	codes := make([]idgate.AuthCode, n)
	errs := make([]error, n)
	parallel(n, func(i int) {
		codes[i], errs[i] = s.RedeemAuthCode(ctx, c.Hash, at(time.Duration(i+1)*time.Millisecond))
	})
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("redemptions %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, idgate.ErrUsed):
			t.Fatalf("redemption %d: error = %v, want ErrUsed", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no redemption succeeded")
	}
	usedAt := at(time.Duration(winner+1) * time.Millisecond)
	for i, got := range codes {
		if !got.UsedAt.Equal(usedAt) || got.Hash != c.Hash {
			t.Fatalf("redemption %d returned UsedAt %v, want the winner's %v", i, got.UsedAt, usedAt)
		}
	}
}

func newDeletionRequest(f fixture, hash string) idgate.DeletionRequest {
	return idgate.DeletionRequest{
		Hash: hash, PoolID: f.Pool.ID, UserSub: "sub-1", Reason: "user asked", ActorType: idgate.ActorAPIKey,
		ActorID: "key_1", CreatedAt: t0, ExpiresAt: at(15 * time.Minute),
	}
}

func testDeletionRequests(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	d := newDeletionRequest(f, "del_1")
	must(t, s.CreateDeletionRequest(ctx, d))
	wantErr(t, s.CreateDeletionRequest(ctx, newDeletionRequest(f, d.Hash)), idgate.ErrConflict)

	got, err := s.UseDeletionRequest(ctx, d.Hash, at(time.Minute))
	must(t, err)
	want := d
	want.UsedAt = at(time.Minute)
	equal(t, "used deletion request", got, want)

	got, err = s.UseDeletionRequest(ctx, d.Hash, at(2*time.Minute))
	wantErr(t, err, idgate.ErrUsed)
	equal(t, "request returned with ErrUsed (unchanged)", got, want)

	_, err = s.UseDeletionRequest(ctx, "del_missing", t0)
	wantErr(t, err, idgate.ErrNotFound)
}

func testUseDeletionRequestConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	d := newDeletionRequest(f, "del_1")
	must(t, s.CreateDeletionRequest(ctx, d))
	const n = 10
	errs := make([]error, n)
	parallel(n, func(i int) {
		_, errs[i] = s.UseDeletionRequest(ctx, d.Hash, at(time.Duration(i+1)*time.Second))
	})
	successes := 0
	for i, err := range errs {
		if err == nil {
			successes++
		} else if !errors.Is(err, idgate.ErrUsed) {
			t.Fatalf("use %d: error = %v, want ErrUsed", i, err)
		}
	}
	if successes != 1 {
		t.Fatalf("%d concurrent uses succeeded, want exactly 1", successes)
	}
}
