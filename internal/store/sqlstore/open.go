package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// OpenSQLite opens (creating it 0600 when absent) the SQLite database file
// at path and migrates it to the latest schema.
//
// Every connection runs in WAL mode with busy_timeout=10000 and foreign keys
// on. Writes and transactions go through one connection whose transactions
// begin IMMEDIATE, so writers queue in the process instead of failing with
// SQLITE_BUSY on lock upgrades; plain reads use a separate, query-only pool
// that WAL lets run alongside the writer.
func OpenSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open sqlite: %q is not a plain file path (the read and write pools must share one file)", path)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}

	common := url.Values{}
	common.Add("_pragma", "busy_timeout(10000)")
	common.Add("_pragma", "foreign_keys(1)")
	// In WAL mode, NORMAL syncs the WAL at checkpoints rather than at every
	// commit: a process crash loses nothing committed, a power loss may lose
	// the last transactions (never corrupts). FULL costs one fsync per write
	// (2–3 ms on common disks), capping the single writer at a few hundred
	// commits a second. docs/decisions.md records the trade-off.
	common.Add("_pragma", "synchronous(NORMAL)")
	writeParams := url.Values{"_pragma": append([]string{"journal_mode(WAL)"}, common["_pragma"]...)}
	writeParams.Set("_txlock", "immediate")
	readParams := url.Values{"_pragma": append([]string{"query_only(1)"}, common["_pragma"]...)}

	write, err := sql.Open("sqlite", path+"?"+writeParams.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	read, err := sql.Open("sqlite", path+"?"+readParams.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	s := &Store{dialect: DialectSQLite, write: write, read: read, wc: newStmtCache(write), rc: newStmtCache(read)}
	// The writer connects first: it switches the file to WAL before a
	// query-only reader could open it.
	if err := write.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite: %w", s.mapErr(err))
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a URL or
// keyword/value connection string, as pgx parses it) and migrates it to the
// latest schema. Parameterised statements always use the extended protocol
// (cached prepared statements); a dsn asking for
// default_query_exec_mode=simple_protocol is refused, because that mode
// interpolates arguments into the SQL text on the client.
//
// Writes and reads share one pool; row locks and advisory locks, not a
// single writer, keep concurrent writers correct.
func OpenPostgres(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if cfg.DefaultQueryExecMode == pgx.QueryExecModeSimpleProtocol {
		return nil, errors.New("open postgres: default_query_exec_mode=simple_protocol is not allowed")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(max(8, 2*runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(8, 2*runtime.GOMAXPROCS(0)))

	s := &Store{dialect: DialectPostgres, write: db, read: db}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres: %w", s.mapErr(err))
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
