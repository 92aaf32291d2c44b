package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var hostedTests = []test{
	{"LoginFlows", testLoginFlows},
	{"LoginFlowUpdateAbort", testLoginFlowUpdateAbort},
	{"HostedSessions", testHostedSessions},
	{"TOTPStepReplay", testTOTPStepReplay},
	{"TOTPStepConcurrent", testTOTPStepConcurrent},
	{"RecoveryCodes", testRecoveryCodes},
	{"RecoveryCodeConcurrent", testRecoveryCodeConcurrent},
	{"KnownDevices", testKnownDevices},
	{"LoginThrottle", testLoginThrottle},
	{"LoginThrottleConcurrent", testLoginThrottleConcurrent},
	{"HostedDataGoesWithUser", testHostedDataGoesWithUser},
	{"PurgeHosted", testPurgeHosted},
}

// hostedUser creates a pool and a user in it.
func hostedUser(t *testing.T, s idgate.Store) (fixture, idgate.User) {
	t.Helper()
	f := newFixture(t, s)
	u := newUser(f, "hana-"+idgate.RandomString("abcdef", 6)+"@example.com", t0)
	must(t, s.CreateUser(t.Context(), u))
	return f, u
}

func testLoginFlows(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	flow := idgate.LoginFlow{
		Hash: "flow-hash-1", PoolID: f.Pool.ID, Purpose: idgate.FlowSignUp, Step: idgate.StepVerifyEmail,
		UserSub: u.Sub, Email: u.Email, Request: "client_id=abc&state=xyz", CodeHash: "code-hash",
		CodeExpiresAt: at(15 * time.Minute), CodeSentAt: t0, Attempts: 1, PendingSecret: []byte{1, 2, 3},
		AuthTime: at(-time.Second), AMR: []string{"pwd"}, CreatedAt: t0, ExpiresAt: at(30 * time.Minute),
	}
	must(t, s.CreateLoginFlow(ctx, flow))
	wantErr(t, s.CreateLoginFlow(ctx, flow), idgate.ErrConflict)
	got, err := s.GetLoginFlow(ctx, flow.Hash)
	must(t, err)
	equal(t, "flow", got, flow)

	updated, err := s.UpdateLoginFlow(ctx, flow.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
		old.Step, old.Attempts, old.PendingSecret, old.AMR = idgate.StepEnrolTOTP, 0, nil, []string{"pwd", "otp"}
		old.Purpose, old.PoolID = "ignored", "ignored" // immutable
		return old, nil
	})
	must(t, err)
	want := flow
	want.Step, want.Attempts, want.PendingSecret, want.AMR = idgate.StepEnrolTOTP, 0, nil, []string{"pwd", "otp"}
	equal(t, "updated flow", updated, want)
	got, err = s.GetLoginFlow(ctx, flow.Hash)
	must(t, err)
	equal(t, "flow read back", got, want)

	// A decoy flow has no user.
	decoy := idgate.LoginFlow{Hash: "flow-hash-2", PoolID: f.Pool.ID, Purpose: idgate.FlowReset, Step: idgate.StepResetCode,
		Email: "nobody@example.com", CreatedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, s.CreateLoginFlow(ctx, decoy))
	got, err = s.GetLoginFlow(ctx, decoy.Hash)
	must(t, err)
	equal(t, "decoy", got, decoy)

	must(t, s.DeleteLoginFlow(ctx, flow.Hash))
	must(t, s.DeleteLoginFlow(ctx, flow.Hash)) // unknown: not an error
	_, err = s.GetLoginFlow(ctx, flow.Hash)
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.UpdateLoginFlow(ctx, flow.Hash, func(f idgate.LoginFlow) (idgate.LoginFlow, error) { return f, nil })
	wantErr(t, err, idgate.ErrNotFound)

	bad := decoy
	bad.Hash, bad.PoolID = "flow-hash-3", "local_nosuchpool"
	wantErr(t, s.CreateLoginFlow(ctx, bad), idgate.ErrNotFound)
}

func testLoginFlowUpdateAbort(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, _ := hostedUser(t, s)
	flow := idgate.LoginFlow{Hash: "flow-abort", PoolID: f.Pool.ID, Purpose: idgate.FlowLogin, Step: idgate.StepMFA,
		Attempts: 2, CreatedAt: t0, ExpiresAt: at(time.Hour)}
	must(t, s.CreateLoginFlow(ctx, flow))
	_, err := s.UpdateLoginFlow(ctx, flow.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
		old.Attempts = 99
		return old, errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("error = %v, want fn's", err)
	}
	got, err := s.GetLoginFlow(ctx, flow.Hash)
	must(t, err)
	equal(t, "attempts after abort", got.Attempts, 2)

	// Concurrent increments all count.
	parallel(8, func(int) {
		_, _ = s.UpdateLoginFlow(ctx, flow.Hash, func(old idgate.LoginFlow) (idgate.LoginFlow, error) {
			old.Attempts++
			return old, nil
		})
	})
	got, err = s.GetLoginFlow(ctx, flow.Hash)
	must(t, err)
	equal(t, "attempts after 8 concurrent increments", got.Attempts, 10)
}

func testHostedSessions(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	h := idgate.HostedSession{Hash: "hs-1", PoolID: f.Pool.ID, UserSub: u.Sub, AuthTime: t0, AMR: []string{"pwd", "otp"},
		IP: "203.0.113.9", UserAgent: "Mozilla/5.0", CreatedAt: t0, ExpiresAt: at(time.Hour), StartSeq: 42}
	must(t, s.CreateHostedSession(ctx, h))
	wantErr(t, s.CreateHostedSession(ctx, h), idgate.ErrConflict)
	got, err := s.GetHostedSession(ctx, h.Hash)
	must(t, err)
	equal(t, "hosted session", got, h)
	if !got.Active(at(59*time.Minute)) || got.Active(at(time.Hour)) {
		t.Fatal("Active does not follow ExpiresAt")
	}
	h2 := h
	h2.Hash = "hs-2"
	must(t, s.CreateHostedSession(ctx, h2))
	h3 := h
	h3.Hash = "hs-3"
	must(t, s.CreateHostedSession(ctx, h3))

	must(t, s.EndHostedSession(ctx, "hs-1", at(time.Minute), "logout"))
	must(t, s.EndHostedSession(ctx, "hs-1", at(2*time.Minute), "other")) // first end stays
	got, err = s.GetHostedSession(ctx, "hs-1")
	must(t, err)
	if !got.EndedAt.Equal(at(time.Minute)) || got.EndReason != "logout" || got.Active(at(time.Minute)) {
		t.Fatalf("ended session = %+v", got)
	}
	wantErr(t, s.EndHostedSession(ctx, "hs-unknown", at(time.Minute), "logout"), idgate.ErrNotFound)

	n, err := s.EndUserHostedSessions(ctx, f.Pool.ID, u.Sub, at(3*time.Minute), idgate.EndGlobalSignOut)
	must(t, err)
	equal(t, "ended", n, 2)
	n, err = s.EndUserHostedSessions(ctx, f.Pool.ID, u.Sub, at(4*time.Minute), idgate.EndGlobalSignOut)
	must(t, err)
	equal(t, "ended again", n, 0)
	got, err = s.GetHostedSession(ctx, "hs-3")
	must(t, err)
	equal(t, "reason", got.EndReason, idgate.EndGlobalSignOut)
	_, err = s.GetHostedSession(ctx, "hs-unknown")
	wantErr(t, err, idgate.ErrNotFound)

	orphan := h
	orphan.Hash, orphan.UserSub = "hs-orphan", idgate.NewUUID()
	wantErr(t, s.CreateHostedSession(ctx, orphan), idgate.ErrNotFound)
}

func testTOTPStepReplay(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	must(t, s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 1000))
	wantErr(t, s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 1000), idgate.ErrUsed)
	wantErr(t, s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 999), idgate.ErrUsed)
	must(t, s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 1001))
	wantErr(t, s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 1001), idgate.ErrUsed)
	wantErr(t, s.UseTOTPStep(ctx, f.Pool.ID, idgate.NewUUID(), 5), idgate.ErrNotFound)
}

func testTOTPStepConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	must(t, s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 10))
	results := make([]error, 8)
	parallel(8, func(i int) { results[i] = s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 11) })
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if !errors.Is(err, idgate.ErrUsed) {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	equal(t, "accepted uses of one step", ok, 1)
}

func testRecoveryCodes(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	n, err := s.CountRecoveryCodes(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	equal(t, "codes before", n, 0)
	must(t, s.ReplaceRecoveryCodes(ctx, f.Pool.ID, u.Sub, []string{"h1", "h2", "h3"}, t0))
	n, err = s.CountRecoveryCodes(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	equal(t, "codes", n, 3)
	must(t, s.UseRecoveryCode(ctx, f.Pool.ID, u.Sub, "h2", at(time.Minute)))
	wantErr(t, s.UseRecoveryCode(ctx, f.Pool.ID, u.Sub, "h2", at(2*time.Minute)), idgate.ErrUsed)
	wantErr(t, s.UseRecoveryCode(ctx, f.Pool.ID, u.Sub, "nope", at(2*time.Minute)), idgate.ErrNotFound)
	n, err = s.CountRecoveryCodes(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	equal(t, "codes after one use", n, 2)

	// Another user's code is not this user's.
	other := newUser(f, "other@example.com", t0)
	must(t, s.CreateUser(ctx, other))
	wantErr(t, s.UseRecoveryCode(ctx, f.Pool.ID, other.Sub, "h1", at(time.Minute)), idgate.ErrNotFound)

	// Replacing drops the old codes, used or not.
	must(t, s.ReplaceRecoveryCodes(ctx, f.Pool.ID, u.Sub, []string{"n1", "n2"}, at(time.Hour)))
	wantErr(t, s.UseRecoveryCode(ctx, f.Pool.ID, u.Sub, "h1", at(2*time.Hour)), idgate.ErrNotFound)
	n, err = s.CountRecoveryCodes(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	equal(t, "codes after replace", n, 2)
	wantErr(t, s.ReplaceRecoveryCodes(ctx, f.Pool.ID, idgate.NewUUID(), []string{"x"}, t0), idgate.ErrNotFound)
}

func testRecoveryCodeConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	must(t, s.ReplaceRecoveryCodes(ctx, f.Pool.ID, u.Sub, []string{"only"}, t0))
	results := make([]error, 8)
	parallel(8, func(i int) { results[i] = s.UseRecoveryCode(ctx, f.Pool.ID, u.Sub, "only", at(time.Minute)) })
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if !errors.Is(err, idgate.ErrUsed) {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	equal(t, "successful uses of one code", ok, 1)
}

func testKnownDevices(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	d := idgate.KnownDevice{Hash: "dev-1", PoolID: f.Pool.ID, UserSub: u.Sub, CreatedAt: t0, LastUsedAt: t0,
		ExpiresAt: at(90 * 24 * time.Hour)}
	_, err := s.GetKnownDevice(ctx, f.Pool.ID, u.Sub, d.Hash)
	wantErr(t, err, idgate.ErrNotFound)
	must(t, s.RememberDevice(ctx, d))
	got, err := s.GetKnownDevice(ctx, f.Pool.ID, u.Sub, d.Hash)
	must(t, err)
	equal(t, "device", got, d)

	again := d
	again.CreatedAt, again.LastUsedAt, again.ExpiresAt = at(time.Hour), at(time.Hour), at(91*24*time.Hour)
	must(t, s.RememberDevice(ctx, again))
	got, err = s.GetKnownDevice(ctx, f.Pool.ID, u.Sub, d.Hash)
	must(t, err)
	want := d
	want.LastUsedAt, want.ExpiresAt = again.LastUsedAt, again.ExpiresAt
	equal(t, "refreshed device keeps its creation", got, want)

	// The same browser is not known for another user.
	other := newUser(f, "other@example.com", t0)
	must(t, s.CreateUser(ctx, other))
	_, err = s.GetKnownDevice(ctx, f.Pool.ID, other.Sub, d.Hash)
	wantErr(t, err, idgate.ErrNotFound)
	orphan := d
	orphan.UserSub = idgate.NewUUID()
	wantErr(t, s.RememberDevice(ctx, orphan), idgate.ErrNotFound)
}

func testLoginThrottle(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	_, err := s.GetLoginThrottle(ctx, f.Pool.ID, "key-1")
	wantErr(t, err, idgate.ErrNotFound)
	fail := func(old idgate.LoginThrottle) (idgate.LoginThrottle, error) {
		old.Failures++
		old.LastFailureAt = at(time.Duration(old.Failures) * time.Minute)
		if old.Failures >= 3 {
			old.LockedUntil = at(time.Hour)
		}
		return old, nil
	}
	for range 3 {
		_, err := s.UpdateLoginThrottle(ctx, f.Pool.ID, "key-1", fail)
		must(t, err)
	}
	got, err := s.GetLoginThrottle(ctx, f.Pool.ID, "key-1")
	must(t, err)
	equal(t, "throttle", got, idgate.LoginThrottle{PoolID: f.Pool.ID, Key: "key-1", Failures: 3,
		LockedUntil: at(time.Hour), LastFailureAt: at(3 * time.Minute)})
	_, err = s.GetLoginThrottle(ctx, f.Pool.ID, "key-2")
	wantErr(t, err, idgate.ErrNotFound)

	_, err = s.UpdateLoginThrottle(ctx, f.Pool.ID, "key-1", func(idgate.LoginThrottle) (idgate.LoginThrottle, error) {
		return idgate.LoginThrottle{}, errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("error = %v, want fn's", err)
	}
	out, err := s.UpdateLoginThrottle(ctx, f.Pool.ID, "key-1", func(idgate.LoginThrottle) (idgate.LoginThrottle, error) {
		return idgate.LoginThrottle{}, nil // success: forget the failures
	})
	must(t, err)
	equal(t, "reset", out, idgate.LoginThrottle{PoolID: f.Pool.ID, Key: "key-1"})
	_, err = s.GetLoginThrottle(ctx, f.Pool.ID, "key-1")
	wantErr(t, err, idgate.ErrNotFound)
}

func testLoginThrottleConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	parallel(8, func(int) {
		_, _ = s.UpdateLoginThrottle(ctx, f.Pool.ID, "key-c", func(old idgate.LoginThrottle) (idgate.LoginThrottle, error) {
			old.Failures++
			old.LastFailureAt = t0
			return old, nil
		})
	})
	got, err := s.GetLoginThrottle(ctx, f.Pool.ID, "key-c")
	must(t, err)
	equal(t, "failures after 8 concurrent", got.Failures, 8)
}

func testHostedDataGoesWithUser(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	must(t, s.CreateHostedSession(ctx, idgate.HostedSession{Hash: "hs-del", PoolID: f.Pool.ID, UserSub: u.Sub,
		AuthTime: t0, CreatedAt: t0, ExpiresAt: at(time.Hour)}))
	must(t, s.ReplaceRecoveryCodes(ctx, f.Pool.ID, u.Sub, []string{"r1"}, t0))
	must(t, s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 42))
	must(t, s.RememberDevice(ctx, idgate.KnownDevice{Hash: "dev-del", PoolID: f.Pool.ID, UserSub: u.Sub,
		CreatedAt: t0, LastUsedAt: t0, ExpiresAt: at(time.Hour)}))
	must(t, s.DeleteUser(ctx, f.Pool.ID, u.Sub))

	_, err := s.GetHostedSession(ctx, "hs-del")
	wantErr(t, err, idgate.ErrNotFound)
	n, err := s.CountRecoveryCodes(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	equal(t, "recovery codes of a deleted user", n, 0)
	_, err = s.GetKnownDevice(ctx, f.Pool.ID, u.Sub, "dev-del")
	wantErr(t, err, idgate.ErrNotFound)
	// A user created again with the same sub starts without TOTP history.
	must(t, s.CreateUser(ctx, u))
	must(t, s.UseTOTPStep(ctx, f.Pool.ID, u.Sub, 1))
}

func testPurgeHosted(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f, u := hostedUser(t, s)
	must(t, s.CreateLoginFlow(ctx, idgate.LoginFlow{Hash: "old-flow", PoolID: f.Pool.ID, Purpose: idgate.FlowLogin,
		Step: idgate.StepMFA, CreatedAt: t0, ExpiresAt: at(time.Minute)}))
	must(t, s.CreateLoginFlow(ctx, idgate.LoginFlow{Hash: "new-flow", PoolID: f.Pool.ID, Purpose: idgate.FlowLogin,
		Step: idgate.StepMFA, CreatedAt: t0, ExpiresAt: at(3 * time.Hour)}))
	must(t, s.CreateHostedSession(ctx, idgate.HostedSession{Hash: "old-hs", PoolID: f.Pool.ID, UserSub: u.Sub,
		CreatedAt: t0, ExpiresAt: at(time.Minute)}))
	must(t, s.CreateHostedSession(ctx, idgate.HostedSession{Hash: "new-hs", PoolID: f.Pool.ID, UserSub: u.Sub,
		CreatedAt: t0, ExpiresAt: at(3 * time.Hour)}))
	must(t, s.RememberDevice(ctx, idgate.KnownDevice{Hash: "old-dev", PoolID: f.Pool.ID, UserSub: u.Sub,
		CreatedAt: t0, LastUsedAt: t0, ExpiresAt: at(time.Minute)}))
	_, err := s.UpdateLoginThrottle(ctx, f.Pool.ID, "old-key", func(x idgate.LoginThrottle) (idgate.LoginThrottle, error) {
		x.Failures, x.LastFailureAt = 1, t0
		return x, nil
	})
	must(t, err)
	_, err = s.UpdateLoginThrottle(ctx, f.Pool.ID, "locked-key", func(x idgate.LoginThrottle) (idgate.LoginThrottle, error) {
		x.Failures, x.LastFailureAt, x.LockedUntil = 9, t0, at(4*time.Hour)
		return x, nil
	})
	must(t, err)

	n, err := s.PurgeHosted(ctx, at(2*time.Hour))
	must(t, err)
	equal(t, "purged rows", n, int64(4))
	_, err = s.GetLoginFlow(ctx, "old-flow")
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetLoginFlow(ctx, "new-flow")
	must(t, err)
	_, err = s.GetHostedSession(ctx, "old-hs")
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetHostedSession(ctx, "new-hs")
	must(t, err)
	_, err = s.GetKnownDevice(ctx, f.Pool.ID, u.Sub, "old-dev")
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetLoginThrottle(ctx, f.Pool.ID, "old-key")
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetLoginThrottle(ctx, f.Pool.ID, "locked-key")
	must(t, err)
}
