package client

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Tokens are one user's tokens as the application keeps them.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	IDToken      string    `json:"id_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"` // when the access token expires
}

// ErrNoTokens is returned by TokenStore.Load when nothing is stored for
// the user.
var ErrNoTokens = errors.New("idgate: no tokens stored for the user")

// TokenStore keeps each user's tokens, keyed by the application's own user
// id. Implementations must be safe for concurrent use.
type TokenStore interface {
	// Load returns the user's tokens, or ErrNoTokens.
	Load(ctx context.Context, userID string) (Tokens, error)
	// Save stores (replaces) the user's tokens.
	Save(ctx context.Context, userID string, t Tokens) error
	// Delete forgets the user's tokens; deleting nothing is not an error.
	Delete(ctx context.Context, userID string) error
}

// Dialect is the SQL dialect of a SQLTokenStore's database.
type Dialect int

// The dialects SQLTokenStore speaks.
const (
	// DialectAuto guesses from the driver's type name ("pgx", "pq" →
	// PostgreSQL, anything else → SQLite).
	DialectAuto Dialect = iota
	DialectSQLite
	DialectPostgres
)

// SQLTokenStoreConfig configures NewSQLTokenStore.
type SQLTokenStoreConfig struct {
	DB *sql.DB
	// Key is the AES key (32 bytes for AES-256; 16 and 24 are accepted)
	// that encrypts the tokens. Keep it outside the database (a secret
	// manager, an environment variable): whoever reads the table without
	// it sees only ciphertext.
	Key []byte
	// Table is the table name; default "idgate_tokens". Letters, digits
	// and underscores, optionally schema-qualified ("auth.idgate_tokens").
	Table   string
	Dialect Dialect
	// Now stamps updated_at; default time.Now.
	Now func() time.Time
}

// SQLTokenStore is a TokenStore over database/sql, for SQLite and
// PostgreSQL. Each row holds one user's tokens as a single AES-GCM sealed
// JSON document, bound to the table and the user id (as associated data)
// so a row copied onto another user does not decrypt.
type SQLTokenStore struct {
	db    *sql.DB
	aead  cipher.AEAD
	table string
	now   func() time.Time
	// statements, in the store's dialect
	qLoad, qSave, qDelete, qCreate string
}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

// NewSQLTokenStore returns a store over cfg.DB. Call CreateTable once (it
// is idempotent) or create the table with your own migrations:
//
//	CREATE TABLE idgate_tokens (
//		user_id    TEXT PRIMARY KEY,
//		sealed     TEXT NOT NULL,
//		updated_at BIGINT NOT NULL
//	)
func NewSQLTokenStore(cfg SQLTokenStoreConfig) (*SQLTokenStore, error) {
	if cfg.DB == nil {
		return nil, errors.New("idgate: SQLTokenStore needs a DB")
	}
	block, err := aes.NewCipher(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("idgate: SQLTokenStore key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if cfg.Table == "" {
		cfg.Table = "idgate_tokens"
	}
	if !tableName.MatchString(cfg.Table) {
		return nil, fmt.Errorf("idgate: SQLTokenStore table name %q: use letters, digits and underscores", cfg.Table)
	}
	if cfg.Dialect == DialectAuto {
		cfg.Dialect = DialectSQLite
		if isPostgresDriver(cfg.DB.Driver()) {
			cfg.Dialect = DialectPostgres
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &SQLTokenStore{db: cfg.DB, aead: aead, table: cfg.Table, now: cfg.Now}
	t := cfg.Table
	s.qCreate = `CREATE TABLE IF NOT EXISTS ` + t + ` (user_id TEXT PRIMARY KEY, sealed TEXT NOT NULL, updated_at BIGINT NOT NULL)`
	s.qLoad = `SELECT sealed FROM ` + t + ` WHERE user_id = ?`
	s.qSave = `INSERT INTO ` + t + ` (user_id, sealed, updated_at) VALUES (?, ?, ?)
ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`
	s.qDelete = `DELETE FROM ` + t + ` WHERE user_id = ?`
	if cfg.Dialect == DialectPostgres {
		s.qLoad, s.qSave, s.qDelete = dollar(s.qLoad), dollar(s.qSave), dollar(s.qDelete)
	}
	return s, nil
}

// isPostgresDriver reports whether drv comes from a PostgreSQL driver
// package (pgx, lib/pq, …), judged by its import path.
func isPostgresDriver(drv any) bool {
	t := reflect.TypeOf(drv)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return false
	}
	p := strings.ToLower(t.PkgPath())
	return strings.Contains(p, "pgx") || strings.HasSuffix(p, "/pq") || strings.Contains(p, "postgres")
}

// dollar rewrites ? placeholders as $1, $2, … (the statements above have
// no ? elsewhere).
func dollar(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// CreateTable creates the table when it does not exist.
func (s *SQLTokenStore) CreateTable(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, s.qCreate)
	return err
}

// sealedPrefix versions the sealed format: "v1." + base64url(nonce‖ciphertext).
const sealedPrefix = "v1."

func (s *SQLTokenStore) aad(userID string) []byte {
	return []byte("idgate-tokens:" + s.table + ":" + userID)
}

func (s *SQLTokenStore) seal(userID string, t Tokens) (string, error) {
	plain, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := s.aead.Seal(nonce, nonce, plain, s.aad(userID))
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

func (s *SQLTokenStore) open(userID, sealed string) (Tokens, error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return Tokens{}, errors.New("idgate: stored tokens: unknown format")
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return Tokens{}, errors.New("idgate: stored tokens: malformed")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, raw[:n], raw[n:], s.aad(userID))
	if err != nil {
		return Tokens{}, errors.New("idgate: stored tokens do not decrypt (wrong key, or the row belongs to another user)")
	}
	var t Tokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return Tokens{}, fmt.Errorf("idgate: stored tokens: %w", err)
	}
	return t, nil
}

// Load returns the user's tokens, or ErrNoTokens.
func (s *SQLTokenStore) Load(ctx context.Context, userID string) (Tokens, error) {
	var sealed string
	err := s.db.QueryRowContext(ctx, s.qLoad, userID).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return Tokens{}, ErrNoTokens
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("idgate: load tokens: %w", err)
	}
	return s.open(userID, sealed)
}

// Save encrypts and stores the user's tokens, replacing what was there.
func (s *SQLTokenStore) Save(ctx context.Context, userID string, t Tokens) error {
	sealed, err := s.seal(userID, t)
	if err != nil {
		return fmt.Errorf("idgate: seal tokens: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, s.qSave, userID, sealed, s.now().UnixNano()); err != nil {
		return fmt.Errorf("idgate: save tokens: %w", err)
	}
	return nil
}

// Delete removes the user's tokens.
func (s *SQLTokenStore) Delete(ctx context.Context, userID string) error {
	if _, err := s.db.ExecContext(ctx, s.qDelete, userID); err != nil {
		return fmt.Errorf("idgate: delete tokens: %w", err)
	}
	return nil
}
