package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// Seed describes synthetic users for load tests (`idgate bench seed`).
type Seed struct {
	PoolID   string
	ClientID string // the app the seeded sessions belong to
	// First and N select the users seeded: emails SeedEmail(First) …
	// SeedEmail(First+N-1), so that seeding can resume or grow.
	First, N int
	// SessionsPerUser active sessions (each with a refresh token whose
	// plain value is discarded: they exist to give the tables their size).
	SessionsPerUser int
	// PasswordHash is stored for every user: one argon2id hash computed
	// once, so every seeded user shares one password while a sign-in still
	// costs a real argon2id verification.
	PasswordHash string
	Now          time.Time
	// Progress, when set, is called after each committed batch with the
	// number of users seeded so far.
	Progress func(done int)
}

// SeedEmail is the email of the i-th seeded user.
func SeedEmail(i int) string { return fmt.Sprintf("seed-%09d@bench.invalid", i) }

// Seeding batches: users per transaction, and rows per INSERT statement
// (under SQLite's 32,766 and PostgreSQL's 65,535 parameters per statement).
const (
	seedTxUsers   = 5000
	seedStmtRows  = 500
	seedSessionTT = 30 * 24 * time.Hour
)

// SeedUsers inserts confirmed users (and their sessions) in large batched
// transactions, bypassing the use-cases: no audit events, no emails, no
// per-user hashing. It is an operations tool for benchmarks — not part of
// idgate.Store — and must only be pointed at a sandbox pool.
func (s *Store) SeedUsers(ctx context.Context, sd Seed) error {
	if sd.Now.IsZero() || sd.PoolID == "" || sd.PasswordHash == "" {
		return fmt.Errorf("seed users: pool, password hash and time are required")
	}
	if sd.SessionsPerUser > 0 && sd.ClientID == "" {
		return fmt.Errorf("seed users: sessions need a client id")
	}
	for done := 0; done < sd.N; {
		n := min(seedTxUsers, sd.N-done)
		err := s.InTx(ctx, func(tx idgate.Store) error {
			return tx.(*Store).seedBatch(ctx, sd, sd.First+done, n)
		})
		if err != nil {
			return fmt.Errorf("seed users %d-%d: %w", sd.First+done, sd.First+done+n-1, err)
		}
		done += n
		if sd.Progress != nil {
			sd.Progress(done)
		}
	}
	return nil
}

func (s *Store) seedBatch(ctx context.Context, sd Seed, first, n int) error {
	now := nanos(sd.Now)
	users := make([][]any, 0, n)
	var sessions, tokens [][]any
	for i := first; i < first+n; i++ {
		sub := idgate.NewUUID()
		users = append(users, []any{sub, sd.PoolID, sub, SeedEmail(i), true, sd.PasswordHash, idgate.StatusConfirmed,
			jsonValue{idgate.Profile{}}, jsonList(nil), jsonList(nil), jsonList(nil), jsonList(nil), nullBytes(nil), now, now})
		for range sd.SessionsPerUser {
			sid := idgate.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 24)
			exp := nanos(sd.Now.Add(seedSessionTT))
			sessions = append(sessions, []any{sid, sd.PoolID, sub, sd.ClientID, now, jsonList([]string{"pwd"}),
				"127.0.0.1", "idgate-bench-seed", now, now, exp, nanos(time.Time{}), ""})
			tokens = append(tokens, []any{randomHash(), sid, sd.ClientID, sd.PoolID, sub, "openid",
				now, exp, nanos(time.Time{}), "", nullBytes(nil)})
		}
	}
	if err := s.insertRows(ctx, "users", userColumns, users); err != nil {
		return err
	}
	if err := s.insertRows(ctx, "sessions", sessionColumns, sessions); err != nil {
		return err
	}
	return s.insertRows(ctx, "refresh_tokens", refreshTokenColumns, tokens)
}

// insertRows inserts rows into table with multi-row INSERT statements of
// at most seedStmtRows rows. The statement text is built from the
// package's own column lists and placeholders only; values are parameters.
func (s *Store) insertRows(ctx context.Context, table, columns string, rows [][]any) error {
	for len(rows) > 0 {
		chunk := rows[:min(seedStmtRows, len(rows))]
		rows = rows[len(chunk):]
		tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(chunk[0])), ", ") + ")"
		query := "INSERT INTO " + table + " (" + columns + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(tuple+", ", len(chunk)), ", ")
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := s.w().ExecContext(ctx, s.q(query), args...); err != nil {
			return s.wrap("seed "+table, err)
		}
	}
	return nil
}

// randomHash is a random 64-hex-digit value shaped like a token digest.
func randomHash() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}
