package totp

import (
	"testing"
	"time"

	ptotp "github.com/pquerna/otp/totp"
)

func TestMatch(t *testing.T) {
	secret := NewSecret()
	now := time.Unix(1_800_000_015, 0) // mid-step
	for _, tc := range []struct {
		at   time.Time
		step int64
		ok   bool
	}{
		{now, Step(now), true},
		{now.Add(-30 * time.Second), Step(now) - 1, true},
		{now.Add(30 * time.Second), Step(now) + 1, true},
		{now.Add(-60 * time.Second), 0, false},
		{now.Add(90 * time.Second), 0, false},
	} {
		code, err := ptotp.GenerateCode(secret, tc.at)
		if err != nil {
			t.Fatal(err)
		}
		step, ok := Match(secret, code, now)
		if ok != tc.ok || (ok && step != tc.step) {
			t.Errorf("code of %v: step %d ok %v, want %d %v", tc.at, step, ok, tc.step, tc.ok)
		}
	}
	if _, ok := Match(secret, "12345", now); ok {
		t.Error("a 5-digit code matched")
	}
}

func TestNormalize(t *testing.T) {
	if got := Normalize(" 123-456\t"); got != "123456" {
		t.Fatalf("Normalize = %q", got)
	}
}
