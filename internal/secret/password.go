package secret

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters.
type Argon2Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	KeyLen    uint32
}

// OWASPParams are OWASP's recommended argon2id parameters (m=19 MiB, t=2, p=1).
var OWASPParams = Argon2Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32}

// Hasher hashes and verifies passwords with argon2id. At most a fixed number
// of hashes run at once (each takes ~19 MiB and tens of milliseconds), so a
// storm of logins queues here instead of starving every other request of CPU
// and memory.
type Hasher struct {
	params Argon2Params
	sem    chan struct{}
	dummy  string
}

// NewHasher returns a Hasher running at most concurrency hashes at once
// (0 means GOMAXPROCS-1, at least 1: one core stays free for token
// verification and refreshes during a login storm).
func NewHasher(p Argon2Params, concurrency int) *Hasher {
	if concurrency <= 0 {
		concurrency = max(1, runtime.GOMAXPROCS(0)-1)
	}
	h := &Hasher{params: p, sem: make(chan struct{}, concurrency)}
	h.dummy = h.encode(make([]byte, 16), h.derive([]byte("idgate-dummy"), make([]byte, 16), p))
	return h
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

func (h *Hasher) derive(pw, salt []byte, p Argon2Params) []byte {
	return argon2.IDKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
}

func (h *Hasher) encode(salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.MemoryKiB, h.params.Time, h.params.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// Hash returns the PHC string of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, 16)
	rand.Read(salt)
	return h.encode(salt, h.derive([]byte(password), salt, h.params)), nil
}

// ErrMalformedHash means a stored hash is not an argon2id PHC string.
var ErrMalformedHash = errors.New("malformed argon2id hash")

// Verify reports whether password matches the PHC string. An empty encoded
// hash (unknown user, or a user without a password) is checked against a
// dummy hash so the time taken does not reveal whether the account exists;
// it always reports false.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	real := encoded != ""
	if !real {
		encoded = h.dummy
	}
	p, salt, key, err := decodePHC(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := h.derive([]byte(password), salt, p)
	return real && subtle.ConstantTimeCompare(got, key) == 1, nil
}

func decodePHC(s string) (p Argon2Params, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	// Bounds: argon2 panics below its minimums, and a stored hash must not
	// be able to demand unbounded memory or time from the server.
	if p.Time < 1 || p.Time > 16 || p.Threads < 1 || p.Threads > 16 || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 1<<20 {
		return p, nil, nil, ErrMalformedHash
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, ErrMalformedHash
	}
	p.KeyLen = uint32(len(key))
	return p, salt, key, nil
}
