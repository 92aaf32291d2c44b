// Package sqlstore implements idgate.Store over database/sql, for SQLite
// (modernc.org/sqlite, pure Go) and PostgreSQL (pgx through its stdlib
// adapter). One implementation serves both: the SQL is written once with `?`
// placeholders where the dialects agree (rebound to `$n` for PostgreSQL, the
// only translation done) and spelled per dialect where they differ.
//
// Encoding, the same in both dialects:
//   - times are BIGINT unix nanoseconds in UTC, the zero time.Time is NULL, and
//     what is read back is in UTC (times outside 1678–2262 are rejected);
//   - durations are BIGINT nanoseconds;
//   - lists ([]string), the user Profile and event Data are JSON text; empty
//     lists and maps read back as nil, and event Data numbers read back as
//     json.Number so that nothing is lost and the hash chain can be verified;
//   - a user's email is stored lower-cased, and NULL when empty so that users
//     without an email do not collide on the per-pool unique index.
//
// Every Create* method and AppendEvent require a non-zero CreatedAt, and the
// methods that record when something happened (an `at` argument) a non-zero
// time: the store never reads a clock, so tests stay deterministic and the
// caller's clock is the only one.
//
// Creates use INSERT … ON CONFLICT DO NOTHING and report a skipped row as
// idgate.ErrConflict, so a duplicate never raises a database error (which on
// PostgreSQL would abort the surrounding transaction). A missing parent row
// (a foreign-key violation, e.g. an app of an unknown pool) is
// idgate.ErrNotFound.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/idgate/idgate/internal/idgate"
)

// The dialects a Store speaks, as Dialect reports them.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Store is the database/sql implementation of idgate.Store. The zero value
// is not usable: open one with OpenSQLite or OpenPostgres. A Store bound to a
// transaction (the one InTx passes to its function) shares the handles of
// the Store it came from and must not outlive that call.
type Store struct {
	dialect string
	write   *sql.DB // every write and transaction; one connection on SQLite
	read    *sql.DB // plain reads; a separate pool on SQLite, write on PostgreSQL
	// wc and rc cache prepared statements of write and read (SQLite only;
	// nil on PostgreSQL, where pgx caches them).
	wc, rc *stmtCache
	tx     *sql.Tx // non-nil when bound to a transaction
	depth  int     // nesting level of InTx inside tx, for savepoint names
}

var _ idgate.Store = (*Store)(nil)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Dialect reports the SQL dialect the store speaks: DialectSQLite or
// DialectPostgres.
func (s *Store) Dialect() string { return s.dialect }

// r returns where plain reads go: the transaction when bound to one (so a
// transaction reads its own writes), the read pool otherwise.
func (s *Store) r() querier {
	return s.w2(s.tx, s.read, s.rc)
}

// w2 picks the querier: in a transaction, the transaction (through the
// writer's statement cache when there is one); else the pool, cached.
func (s *Store) w2(tx *sql.Tx, db *sql.DB, cache *stmtCache) querier {
	switch {
	case tx != nil && s.wc != nil:
		return cachedQuerier{cache: s.wc, tx: tx}
	case tx != nil:
		return tx
	case cache != nil:
		return cachedQuerier{cache: cache}
	}
	return db
}

// w returns where writes go: the transaction when bound, the writer otherwise.
func (s *Store) w() querier {
	return s.w2(s.tx, s.write, s.wc)
}

// q returns query in the store's dialect: unchanged for SQLite, with `?`
// placeholders rebound to `$1`, `$2`… for PostgreSQL.
func (s *Store) q(query string) string {
	if s.dialect == DialectPostgres {
		return rebind(query)
	}
	return query
}

// pick returns the statement written for the store's dialect, for the few
// statements the dialects spell differently.
func (s *Store) pick(sqlite, postgres string) string {
	if s.dialect == DialectPostgres {
		return rebind(postgres)
	}
	return sqlite
}

var rebound sync.Map // query string → PostgreSQL spelling

// rebind turns each `?` of query into `$n`. The statements of this package
// never contain `?` inside literals, so no parsing is needed.
func rebind(query string) string {
	if v, ok := rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	rebound.Store(query, out)
	return out
}

// Close closes the database handles. It fails on a Store bound to a
// transaction, which does not own them.
func (s *Store) Close() error {
	if s.tx != nil {
		return errors.New("sqlstore: Close called on a transaction-bound store")
	}
	for _, c := range []*stmtCache{s.wc, s.rc} {
		if c != nil {
			c.close()
		}
	}
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

const sqlPing = "SELECT 1"

// Ping reports whether the database answers. It checks the read pool (on
// SQLite the writer may be held by a long transaction, which is not a reason
// to report the node unready); any failure is ErrUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r().QueryRowContext(ctx, sqlPing).Scan(&one); err != nil {
		return fmt.Errorf("ping: %w: %w", idgate.ErrUnavailable, err)
	}
	return nil
}

// InTx runs fn with a Store bound to one transaction on the writer; it
// commits when fn returns nil and rolls back otherwise (or when fn panics),
// returning fn's error unchanged.
//
// Called on a Store that is already bound, it runs fn in the same
// transaction under a savepoint: an error from fn undoes only what fn did
// (and, on PostgreSQL, clears the failed-statement state) before it is
// returned. Plain methods called on the bound Store join the transaction.
//
// On SQLite the writer has a single connection: fn must use the Store it is
// given, never the outer one, or it waits for itself.
func (s *Store) InTx(ctx context.Context, fn func(tx idgate.Store) error) error {
	if s.tx != nil {
		return s.savepoint(ctx, fn)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", s.mapErr(err))
	}
	done := false
	defer func() {
		if !done { // fn panicked
			_ = tx.Rollback()
		}
	}()
	bound := &Store{dialect: s.dialect, write: s.write, read: s.read, wc: s.wc, rc: s.rc, tx: tx}
	fnErr := fn(bound)
	done = true
	if fnErr != nil {
		_ = tx.Rollback()
		return fnErr
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", s.mapErr(err))
	}
	return nil
}

// Savepoint statements; the name (idgate_sp_<depth>) is appended. They take
// no parameters, so nothing is ever interpolated.
const (
	sqlSavepoint           = "SAVEPOINT "
	sqlRollbackToSavepoint = "ROLLBACK TO SAVEPOINT "
	sqlReleaseSavepoint    = "RELEASE SAVEPOINT "
)

// savepoint runs fn under a savepoint of the bound transaction.
func (s *Store) savepoint(ctx context.Context, fn func(tx idgate.Store) error) error {
	name := fmt.Sprintf("idgate_sp_%d", s.depth+1)
	if _, err := s.tx.ExecContext(ctx, sqlSavepoint+name); err != nil {
		return fmt.Errorf("savepoint: %w", s.mapErr(err))
	}
	inner := &Store{dialect: s.dialect, write: s.write, read: s.read, wc: s.wc, rc: s.rc, tx: s.tx, depth: s.depth + 1}
	if fnErr := fn(inner); fnErr != nil {
		if _, err := s.tx.ExecContext(ctx, sqlRollbackToSavepoint+name); err != nil {
			return errors.Join(fnErr, fmt.Errorf("rollback to savepoint: %w", s.mapErr(err)))
		}
		if _, err := s.tx.ExecContext(ctx, sqlReleaseSavepoint+name); err != nil {
			return errors.Join(fnErr, fmt.Errorf("release savepoint: %w", s.mapErr(err)))
		}
		return fnErr
	}
	if _, err := s.tx.ExecContext(ctx, sqlReleaseSavepoint+name); err != nil {
		return fmt.Errorf("release savepoint: %w", s.mapErr(err))
	}
	return nil
}

// withTx runs fn in a transaction: the bound one when there is one (joining
// it, without a savepoint), a new one on the writer otherwise. The methods
// that read, decide and write use it so that the three are atomic.
func (s *Store) withTx(ctx context.Context, fn func(tx *Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	return s.InTx(ctx, func(tx idgate.Store) error { return fn(tx.(*Store)) })
}

// exists reports whether query (a SELECT 1 … by key) finds a row. The
// conditional updates use it to tell "not found" from "condition not met".
func (s *Store) exists(ctx context.Context, query string, args ...any) (bool, error) {
	var one int
	err := s.r().QueryRowContext(ctx, s.q(query), args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, s.mapErr(err)
	}
	return true, nil
}

// affected returns the rows a statement changed.
func affected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("rows affected: %w", err)
	}
	return n, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// collect reads every row of rows with scan, closing rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// list runs a SELECT on the read side and scans every row.
func list[T any](ctx context.Context, s *Store, op, query string, scan func(scanner) (T, error), args ...any) ([]T, error) {
	rows, err := s.r().QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	out, err := collect(rows, scan)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}

// errNoCreatedAt is returned by the Create* methods for a zero CreatedAt.
var errNoCreatedAt = errors.New("CreatedAt is required")

// errNoTime is returned by the methods that record when something happened
// (`at`) for a zero time, which would be stored as NULL: "never".
var errNoTime = errors.New("the time of the change is required")
