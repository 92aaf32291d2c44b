package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idgate/idgate/internal/idgate"
)

// wrap maps err to the domain's sentinel errors and prefixes it with op.
// It returns nil for a nil err.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, s.mapErr(err))
}

// mapErr keeps err (so errors.As still reaches the driver's error) and adds
// the sentinel it stands for:
//   - sql.ErrNoRows → idgate.ErrNotFound;
//   - a unique or primary-key violation → idgate.ErrConflict;
//   - a foreign-key violation → idgate.ErrNotFound (the referenced record,
//     e.g. the pool of a new app, does not exist);
//   - a failure to reach the database → idgate.ErrUnavailable.
func (s *Store) mapErr(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, idgate.ErrNotFound), errors.Is(err, idgate.ErrConflict),
		errors.Is(err, idgate.ErrUsed), errors.Is(err, idgate.ErrUnavailable):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return idgate.ErrNotFound
	}
	if sentinel := classify(err); sentinel != nil {
		return fmt.Errorf("%w: %w", sentinel, err)
	}
	return err
}

// classify returns the sentinel a driver error stands for, or nil.
func classify(err error) error {
	var le *sqlite.Error
	if errors.As(err, &le) {
		switch le.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return idgate.ErrConflict
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return idgate.ErrNotFound
		}
		if le.Code()&0xff == sqlite3.SQLITE_CANTOPEN {
			return idgate.ErrUnavailable
		}
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505": // unique_violation
			return idgate.ErrConflict
		case pe.Code == "23503": // foreign_key_violation
			return idgate.ErrNotFound
		case len(pe.Code) == 5 && pe.Code[:2] == "08", // connection_exception class
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdowns, cannot_connect_now
			pe.Code == "53300": // too_many_connections
			return idgate.ErrUnavailable
		}
		return nil
	}
	// Failing to connect (including a dial that ran out of time) or losing
	// the connection. A timeout on an established connection is the
	// caller's deadline, not an outage, and keeps its own error.
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.Is(err, driver.ErrBadConn):
		return idgate.ErrUnavailable
	case errors.As(err, &ne) && !ne.Timeout() && !errors.Is(err, context.Canceled):
		return idgate.ErrUnavailable
	}
	return nil
}
