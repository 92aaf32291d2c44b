package account

import (
	"testing"
	"time"
)

func TestThrottleSchedule(t *testing.T) {
	h := (&Service{now: time.Now}).Hosted(nil, HostedLimits{})
	want := map[int]time.Duration{1: 0, 4: 0, 5: time.Minute, 6: 2 * time.Minute, 7: 4 * time.Minute, 10: 32 * time.Minute,
		11: time.Hour, 50: time.Hour}
	for n, d := range want {
		if got := h.lockFor(n); got != d {
			t.Errorf("lock after %d failures = %v, want %v", n, got, d)
		}
	}
}

func TestRecoveryCodesNormalised(t *testing.T) {
	codes, hashes := newRecoveryCodes("sub-1")
	if len(codes) != 10 || len(hashes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	c := codes[0]
	for _, typed := range []string{c, "  " + c + " ", c[:5] + c[6:], c[:5] + " " + c[6:]} {
		if recoveryHash("sub-1", typed) != hashes[0] {
			t.Errorf("typed %q does not match %q", typed, c)
		}
	}
	if recoveryHash("sub-2", c) == hashes[0] {
		t.Error("a recovery code hash is not bound to its user")
	}
	seen := map[string]bool{}
	for _, code := range codes {
		if seen[code] || len(code) != 11 || code[5] != '-' {
			t.Fatalf("bad or repeated code %q", code)
		}
		seen[code] = true
	}
}

func TestWaitMessage(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "Try again in 1 second.", 45 * time.Second: "Try again in 45 seconds.", 2 * time.Minute: "Try again in 2 minutes.",
	} {
		if got := waitMessage("Wait.", d).Description; got != "Wait. "+want {
			t.Errorf("%v: %q", d, got)
		}
	}
}
