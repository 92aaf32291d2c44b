// Package totp holds the time-based one-time password rules that the
// hosted login and the admin console share: RFC 6238 with the defaults
// every authenticator app supports (SHA-1, six digits, 30-second steps), a
// step of skew either side, and the normalisation of what people type.
// Replay protection (remembering the last accepted step) is the caller's,
// with the step Match returns.
package totp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Period is the length of a time step in seconds; Skew how many steps
// either side of now are accepted (clock drift between phone and server).
const (
	Period = 30
	Skew   = 1
)

var opts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewSecret returns a 160-bit secret in unpadded base32 (RFC 4226's
// recommended length).
func NewSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// Step returns the time step of t.
func Step(t time.Time) int64 { return t.Unix() / Period }

// Match returns the time step (now's, or one either side) whose code
// equals code, comparing in constant time.
func Match(secretB32, code string, now time.Time) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	base := Step(now)
	for d := int64(-Skew); d <= Skew; d++ {
		want, err := hotp.GenerateCodeCustom(secretB32, uint64(base+d), opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return base + d, true
		}
	}
	return 0, false
}

// Normalize drops the spaces and dashes people type into codes.
func Normalize(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, code)
}
