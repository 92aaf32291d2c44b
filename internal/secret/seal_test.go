package secret

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func newTestSealer(t *testing.T) *Sealer {
	t.Helper()
	s, err := NewSealer(NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	s := newTestSealer(t)
	for _, pt := range [][]byte{nil, {}, []byte("x"), []byte("a TOTP secret JBSWY3DPEHPK3PXP"), bytes.Repeat([]byte{0xff}, 4096)} {
		sealed := s.Seal(pt, "totp:sub-1")
		if len(pt) >= 8 && bytes.Contains(sealed, pt) { // shorter values can occur in random bytes by chance
			t.Fatalf("sealed value contains the plaintext")
		}
		got, err := s.Open(sealed, "totp:sub-1")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
	}
}

func TestOpenWrongAADFails(t *testing.T) {
	t.Parallel()
	s := newTestSealer(t)
	sealed := s.Seal([]byte("private key DER"), "signing-key:abc")
	for _, aad := range []string{"signing-key:abd", "signing-key:", "", "totp:abc", "signing-key:abc "} {
		if pt, err := s.Open(sealed, aad); !errors.Is(err, ErrOpen) || pt != nil {
			t.Errorf("Open with aad %q = %q, %v; want ErrOpen", aad, pt, err)
		}
	}
}

func TestOpenTamperedFails(t *testing.T) {
	t.Parallel()
	s := newTestSealer(t)
	sealed := s.Seal([]byte("webhook secret"), "webhook:1")
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := s.Open(bad, "webhook:1"); !errors.Is(err, ErrOpen) {
			t.Fatalf("flipping byte %d of %d: Open error %v, want ErrOpen", i, len(sealed), err)
		}
	}
	for _, bad := range [][]byte{nil, {}, sealed[:11], sealed[:12], sealed[:27], sealed[:len(sealed)-1], append(bytes.Clone(sealed), 0)} {
		if _, err := s.Open(bad, "webhook:1"); !errors.Is(err, ErrOpen) {
			t.Fatalf("Open(%d bytes) error %v, want ErrOpen", len(bad), err)
		}
	}
}

func TestOpenDifferentKeyFails(t *testing.T) {
	t.Parallel()
	a, b := newTestSealer(t), newTestSealer(t)
	sealed := a.Seal([]byte("secret"), "aad")
	if _, err := b.Open(sealed, "aad"); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open under another key: %v, want ErrOpen", err)
	}
	if _, err := a.Open(sealed, "aad"); err != nil {
		t.Fatalf("Open under the right key: %v", err)
	}
}

func TestSealNonceUniqueness(t *testing.T) {
	t.Parallel()
	s := newTestSealer(t)
	const n = 5000
	seen := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		sealed := s.Seal([]byte("same plaintext"), "same aad")
		nonce := string(sealed[:12])
		if seen[nonce] {
			t.Fatalf("nonce repeated after %d seals", i)
		}
		seen[nonce] = true
	}
	x, y := s.Seal([]byte("p"), "a"), s.Seal([]byte("p"), "a")
	if bytes.Equal(x, y) {
		t.Fatal("two seals of the same value are identical")
	}
}

func TestNewSealerKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) accepted; only 32-byte keys are valid", n)
		}
	}
	if len(NewMasterKey()) != KeySize || KeySize != 32 {
		t.Fatalf("master key size %d", len(NewMasterKey()))
	}
	if bytes.Equal(NewMasterKey(), NewMasterKey()) {
		t.Fatal("NewMasterKey is not random")
	}
}

func TestParseMasterKey(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i*7 + 250) // includes bytes giving + / - _ in base64
	}
	good := map[string]string{
		"hex lower":       hex.EncodeToString(key),
		"hex upper":       strings.ToUpper(hex.EncodeToString(key)),
		"hex with spaces": "  " + hex.EncodeToString(key) + "\n",
		"std base64":      base64.StdEncoding.EncodeToString(key),
		"raw std base64":  base64.RawStdEncoding.EncodeToString(key),
		"url base64":      base64.URLEncoding.EncodeToString(key),
		"raw url base64":  base64.RawURLEncoding.EncodeToString(key),
	}
	for name, s := range good {
		got, err := ParseMasterKey(s)
		if err != nil {
			t.Errorf("%s: ParseMasterKey(%q): %v", name, s, err)
			continue
		}
		if !bytes.Equal(got, key) {
			t.Errorf("%s: ParseMasterKey(%q) = %x, want %x", name, s, got, key)
		}
	}
	bad := map[string]string{
		"empty":           "",
		"spaces":          "   ",
		"short hex":       hex.EncodeToString(key[:31]),
		"long hex":        hex.EncodeToString(append(key, 1)),
		"odd hex":         hex.EncodeToString(key)[:63],
		"16-byte base64":  base64.StdEncoding.EncodeToString(key[:16]),
		"33-byte base64":  base64.StdEncoding.EncodeToString(append(key, 1)),
		"not an encoding": "this is not a key, it is a sentence!!",
		"hex with junk":   hex.EncodeToString(key)[:62] + "zz",
	}
	for name, s := range bad {
		if got, err := ParseMasterKey(s); err == nil {
			t.Errorf("%s: ParseMasterKey(%q) = %x, want an error", name, s, got)
		}
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("igk_token"))
	if got, want := Digest("igk_token"), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("Digest = %s, want hex SHA-256 %s", got, want)
	}
	// SHA-256("abc"), FIPS 180-2 test vector.
	if got := Digest("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("Digest(abc) = %s", got)
	}
	if Digest("a") == Digest("b") {
		t.Fatal("different tokens share a digest")
	}
}

func TestDigestEqual(t *testing.T) {
	t.Parallel()
	d := Digest("refresh-token-value")
	cases := []struct {
		token, digest string
		want          bool
	}{
		{"refresh-token-value", d, true},
		{"refresh-token-valuE", d, false},
		{"", d, false},
		{"refresh-token-value", "", false},
		{"refresh-token-value", strings.ToUpper(d), false},
		{"refresh-token-value", d[:63], false},
		{"refresh-token-value", "refresh-token-value", false}, // the raw token is not its digest
		{"", Digest(""), true},
	}
	for _, c := range cases {
		if got := DigestEqual(c.token, c.digest); got != c.want {
			t.Errorf("DigestEqual(%q, %q) = %v, want %v", c.token, c.digest, got, c.want)
		}
	}
}
