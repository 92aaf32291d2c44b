package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the master key length: 32 bytes for AES-256.
const KeySize = 32

// Sealer encrypts and authenticates small secrets with AES-256-GCM under the
// master key. Each value gets a fresh random nonce, stored in front of the
// ciphertext. The associated data binds a ciphertext to its purpose (for
// example "signing-key:<kid>"), so a sealed value cannot be moved to another
// column or row and still open.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer for a 32-byte master key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad.
func (s *Sealer) Seal(plaintext []byte, aad string) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, []byte(aad))
}

// ErrOpen means a sealed value did not decrypt: wrong master key, wrong
// associated data, or tampering.
var ErrOpen = errors.New("sealed value does not open with this master key")

// Open decrypts a value made by Seal with the same aad.
func (s *Sealer) Open(sealed []byte, aad string) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(aad))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// ParseMasterKey decodes a master key given as 64 hex characters or as
// standard/URL base64 of 32 bytes (IDGATE_MASTER_KEY).
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, errors.New("master key must be 32 bytes, written as 64 hex characters or base64")
}

// NewMasterKey returns a fresh random master key.
func NewMasterKey() []byte {
	b := make([]byte, KeySize)
	rand.Read(b)
	return b
}

// Digest returns the SHA-256 of a high-entropy token in hex. Tokens, codes,
// API keys and client secrets carry at least 128 bits of randomness, so a
// fast unsalted hash is enough to make the stored value useless to a thief
// while keeping the lookup a single indexed read.
func Digest(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// DigestEqual compares a token with a stored digest in constant time.
func DigestEqual(token, digest string) bool {
	return subtle.ConstantTimeCompare([]byte(Digest(token)), []byte(digest)) == 1
}
