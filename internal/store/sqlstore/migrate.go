package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrationFiles holds one directory of versioned SQL files per dialect,
// named NNNN_description.sql. A file is applied once, in its own
// transaction, and recorded in schema_migrations; files are never edited
// after release, only added.
//
//go:embed migrations
var migrationFiles embed.FS

// migration is one versioned SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the dialect's migrations in version order.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version and '_'", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

const (
	sqlCreateSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT PRIMARY KEY,
	applied_at BIGINT NOT NULL
)`
	sqlMaxMigration       = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"
	sqlMigrationApplied   = "SELECT 1 FROM schema_migrations WHERE version = ?"
	sqlRecordMigration    = "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"
	sqlPGMigrationLock    = "SELECT pg_advisory_lock(?)"
	sqlPGMigrationUnlock  = "SELECT pg_advisory_unlock(?)"
	pgMigrationLockKey    = int64(0x6964676174656d67) // "idgatemg": outside the int4 range hashtext returns
	migrationTimeoutGrace = 5 * time.Second
)

// migrate applies the migrations the database has not seen. On PostgreSQL
// it holds a session advisory lock meanwhile, so nodes starting together
// migrate one after the other; on SQLite the IMMEDIATE transactions of the
// single writer serialise it. A database migrated by a newer build (a
// version this build does not know) is refused rather than misread.
func (s *Store) migrate(ctx context.Context) error {
	migrations, err := loadMigrations(s.dialect)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", s.mapErr(err))
	}
	defer conn.Close()

	if s.dialect == DialectPostgres {
		if _, err := conn.ExecContext(ctx, s.q(sqlPGMigrationLock), pgMigrationLockKey); err != nil {
			return fmt.Errorf("migrate: lock: %w", s.mapErr(err))
		}
		defer func() {
			unlockCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), migrationTimeoutGrace)
			defer cancel()
			if _, err := conn.ExecContext(unlockCtx, s.q(sqlPGMigrationUnlock), pgMigrationLockKey); err != nil {
				// The lock belongs to the session: discard the connection
				// so that closing it releases the lock.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}

	if _, err := conn.ExecContext(ctx, sqlCreateSchemaMigrations); err != nil {
		return fmt.Errorf("migrate: %w", s.mapErr(err))
	}
	var current int
	if err := conn.QueryRowContext(ctx, sqlMaxMigration).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", s.mapErr(err))
	}
	if latest := migrations[len(migrations)-1].version; current > latest {
		return fmt.Errorf("migrate: database schema is at version %d, newer than this build's %d", current, latest)
	}
	for _, m := range migrations {
		if err := s.apply(ctx, conn, m); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.name, err)
		}
	}
	return nil
}

// apply runs one migration in its own transaction unless it is recorded as
// applied already (checked inside the transaction, so a concurrent migrator
// cannot slip in between).
func (s *Store) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.mapErr(err)
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, s.q(sqlMigrationApplied), m.version).Scan(&one)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return s.mapErr(err)
	}
	// A migration file holds several statements and no parameters; both
	// drivers run such a string as a script.
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return s.mapErr(err)
	}
	if _, err := tx.ExecContext(ctx, s.q(sqlRecordMigration), m.version, nanos(time.Now())); err != nil {
		return s.mapErr(err)
	}
	return s.mapErr(tx.Commit())
}
