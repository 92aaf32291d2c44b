package secret

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
)

// testParams keep the round trips fast; the PHC format test uses the real
// OWASP parameters.
var testParams = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1, KeyLen: 32}

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(testParams, 2)
	for _, pw := range []string{"correct horse battery staple", "ünïcødé pässwörd ✓", strings.Repeat("x", 1024), ""} {
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatalf("Hash(%q): %v", pw, err)
		}
		ok, err := h.Verify(ctx, pw, enc)
		if err != nil || !ok {
			t.Fatalf("Verify(right password %q) = %v, %v; want true, nil", pw, ok, err)
		}
		ok, err = h.Verify(ctx, pw+"x", enc)
		if err != nil || ok {
			t.Fatalf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestHashIsSalted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(testParams, 2)
	a, _ := h.Hash(ctx, "same password here")
	b, _ := h.Hash(ctx, "same password here")
	if a == b {
		t.Fatalf("two hashes of one password are equal (%s): salt is not random", a)
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHasher(testParams, 1)
	enc, err := h.Hash(ctx, "the real password")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range []string{"", "the real passwor", "The real password", "the real password ", "x"} {
		ok, err := h.Verify(ctx, wrong, enc)
		if err != nil || ok {
			t.Errorf("Verify(%q) = %v, %v; want false, nil", wrong, ok, err)
		}
	}
}

var phcRe = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestPHCFormatWithOWASPParams(t *testing.T) {
	t.Parallel()
	if OWASPParams.MemoryKiB != 19456 || OWASPParams.Time != 2 || OWASPParams.Threads != 1 {
		t.Fatalf("OWASPParams = %+v, want m=19456 t=2 p=1", OWASPParams)
	}
	ctx := context.Background()
	h := NewHasher(OWASPParams, 1)
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	m := phcRe.FindStringSubmatch(enc)
	if m == nil {
		t.Fatalf("hash %q is not a PHC argon2id string with m=19456,t=2,p=1", enc)
	}
	salt, err := base64.RawStdEncoding.DecodeString(m[1])
	if err != nil || len(salt) < 16 {
		t.Fatalf("salt %q: %d bytes, err %v; want >= 16 bytes of unpadded base64", m[1], len(salt), err)
	}
	key, err := base64.RawStdEncoding.DecodeString(m[2])
	if err != nil || len(key) != 32 {
		t.Fatalf("key %q: %d bytes, err %v; want 32", m[2], len(key), err)
	}
	// The hash must be the argon2id of the password computed independently.
	want := argon2.IDKey([]byte("correct horse battery staple"), salt, 2, 19456, 1, 32)
	if string(want) != string(key) {
		t.Fatal("stored key is not argon2id(password, salt, t=2, m=19456, p=1)")
	}
}

// TestVerifyAcceptsOtherParams checks a hash made with other parameters
// (stored before a parameter change) still verifies: the parameters come
// from the PHC string, not from the Hasher.
func TestVerifyAcceptsOtherParams(t *testing.T) {
	t.Parallel()
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("pw-with-other-params"), salt, 1, 128, 2, 24)
	enc := fmt.Sprintf("$argon2id$v=19$m=128,t=1,p=2$%s$%s", base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	ok, err := NewHasher(testParams, 1).Verify(context.Background(), "pw-with-other-params", enc)
	if err != nil || !ok {
		t.Fatalf("Verify = %v, %v; want true", ok, err)
	}
}

// verifyNoPanic runs Verify and turns a panic into an error, so one bad
// case does not hide the others.
func verifyNoPanic(h *Hasher, pw, enc string) (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return h.Verify(context.Background(), pw, enc)
}

func TestVerifyMalformedHash(t *testing.T) {
	t.Parallel()
	h := NewHasher(testParams, 1)
	good, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	cases := map[string]string{
		"not phc":            "plaintext",
		"bcrypt":             "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"argon2i":            "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"wrong version":      "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"no version":         "$argon2id$m=64,t=1,p=1$" + salt + "$" + key,
		"bad params":         "$argon2id$v=19$m=x,t=1,p=1$" + salt + "$" + key,
		"bad salt":           "$argon2id$v=19$m=64,t=1,p=1$!!!$" + key,
		"bad key":            "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$@@@",
		"empty key":          "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"too many parts":     good + "$extra",
		"too few parts":      "$argon2id$v=19$m=64,t=1,p=1$" + salt,
		"zero time":          "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"zero parallelism":   "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"parallelism > 255":  "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"negative memory":    "$argon2id$v=19$m=-1,t=1,p=1$" + salt + "$" + key,
		"memory below 8*p":   "$argon2id$v=19$m=7,t=1,p=1$" + salt + "$" + key,
		"time above bound":   "$argon2id$v=19$m=64,t=17,p=1$" + salt + "$" + key,
		"only dollar signs":  "$$$$$",
		"whitespace wrapped": " " + good + " ",
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			ok, err := verifyNoPanic(h, "pw", enc)
			if ok {
				t.Fatalf("Verify(%q) = true", enc)
			}
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) error = %v, want ErrMalformedHash", enc, err)
			}
		})
	}
}

func TestVerifyEmptyHashIsFalseAfterDummyWork(t *testing.T) {
	t.Parallel()
	h := NewHasher(testParams, 1)
	for _, pw := range []string{"", "idgate-dummy", "anything"} {
		ok, err := h.Verify(context.Background(), pw, "")
		if err != nil || ok {
			t.Fatalf("Verify(%q, empty hash) = %v, %v; want false, nil", pw, ok, err)
		}
	}
	// The dummy check does the same work as a real one: it queues for a
	// hashing slot like any other verification. With every slot taken and a
	// cancelled context, it must report the cancellation rather than answer
	// false at once.
	h.sem <- struct{}{}
	defer h.release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ok, err := h.Verify(ctx, "pw", ""); !errors.Is(err, context.Canceled) || ok {
		t.Fatalf("Verify(empty hash) with every slot busy and ctx cancelled = %v, %v; want false, context.Canceled (it skipped the dummy derivation)", ok, err)
	}
}

// TestHasherConcurrencyBound proves NewHasher(p, 2) lets at most two
// derivations run at once: with two slots taken, a third Hash or Verify
// waits until its context is cancelled; once a slot frees up, work resumes.
// No timing is asserted: blocking is observed through cancellation.
func TestHasherConcurrencyBound(t *testing.T) {
	t.Parallel()
	h := NewHasher(testParams, 2)
	if cap(h.sem) != 2 {
		t.Fatalf("semaphore capacity %d, want 2", cap(h.sem))
	}
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	// Two derivations in flight (held exactly as Hash holds them).
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Many callers now queue; none may get through while both slots are
	// held. Each is cancelled, and each must report the cancellation.
	const waiters = 16
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 2*waiters)
	started := make(chan struct{}, 2*waiters)
	for i := 0; i < waiters; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			started <- struct{}{}
			_, err := h.Hash(ctx, "pw")
			errs <- err
		}()
		go func() {
			defer wg.Done()
			started <- struct{}{}
			ok, err := h.Verify(ctx, "pw", enc)
			if ok {
				err = errors.New("Verify succeeded while both slots were held")
			}
			errs <- err
		}()
	}
	for i := 0; i < 2*waiters; i++ {
		<-started
	}
	runtime.Gosched()
	if n := len(errs); n != 0 {
		t.Fatalf("%d hashing calls finished while both slots were held: %v", n, <-errs)
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("queued call returned %v, want context.Canceled", err)
		}
	}
	if n := len(h.sem); n != 2 {
		t.Fatalf("after cancelled waiters, %d slots held, want 2 (a cancelled waiter took or freed a slot)", n)
	}

	// Free one slot: a caller gets through while the other is still held.
	h.release()
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatalf("Hash with one free slot: %v", err)
	}
	if ok, err := h.Verify(context.Background(), "pw", enc); err != nil || !ok {
		t.Fatalf("Verify with one free slot = %v, %v", ok, err)
	}
	h.release()
	if n := len(h.sem); n != 0 {
		t.Fatalf("%d slots still held after all work finished (leak)", n)
	}
}

// TestHasherReleasesSlots runs many real hashes and verifications at once
// through a two-slot Hasher, including failing ones, and checks every slot
// is given back.
func TestHasherReleasesSlots(t *testing.T) {
	t.Parallel()
	h := NewHasher(testParams, 2)
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 4 {
			case 0:
				if _, err := h.Hash(context.Background(), fmt.Sprint("pw", i)); err != nil {
					t.Error(err)
				}
			case 1:
				if ok, err := h.Verify(context.Background(), "pw", enc); !ok || err != nil {
					t.Errorf("Verify = %v, %v", ok, err)
				}
			case 2:
				if ok, _ := h.Verify(context.Background(), "wrong", enc); ok {
					t.Error("wrong password verified")
				}
			case 3:
				_, _ = h.Verify(context.Background(), "pw", "$argon2id$v=19$m=64,t=0,p=1$AAAA$AAAA")
			}
		}()
	}
	wg.Wait()
	if n := len(h.sem); n != 0 {
		t.Fatalf("%d slots leaked", n)
	}
}

func TestNewHasherDefaultConcurrency(t *testing.T) {
	t.Parallel()
	h := NewHasher(testParams, 0)
	if want := max(1, runtime.GOMAXPROCS(0)-1); cap(h.sem) != want {
		t.Fatalf("NewHasher(p, 0) allows %d, want GOMAXPROCS-1 (%d): one core stays for verification", cap(h.sem), want)
	}
	if h := NewHasher(testParams, -3); cap(h.sem) < 1 {
		t.Fatalf("NewHasher(p, -3) allows %d", cap(h.sem))
	}
}
