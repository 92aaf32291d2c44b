package idgate

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

const lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"

// RandomString returns n characters drawn uniformly from alphabet using
// crypto/rand.
func RandomString(alphabet string, n int) string {
	b := make([]byte, n)
	out := make([]byte, n)
	limit := 256 - 256%len(alphabet) // reject bytes that would bias the draw
	for i := 0; i < n; {
		rand.Read(b) // never fails (crypto/rand panics on failure)
		for _, c := range b {
			if i == n {
				break
			}
			if int(c) < limit {
				out[i] = alphabet[int(c)%len(alphabet)]
				i++
			}
		}
	}
	return string(out)
}

// NewPoolID returns a pool id shaped like <region>_<9 lowercase alnum>.
func NewPoolID(region string) string { return region + "_" + RandomString(lowerAlnum, 9) }

// NewClientID returns a 26-character lowercase alphanumeric client id.
func NewClientID() string { return RandomString(lowerAlnum, 26) }

// NewID returns a random 128-bit identifier in hex, prefixed (e.g. "prj_").
func NewID(prefix string) string {
	b := make([]byte, 16)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// NewUUID returns a random (version 4) UUID, used for user subs.
func NewUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewSecret returns a 256-bit random secret, base64url without padding,
// prefixed so leaked values are recognisable by secret scanners.
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}
