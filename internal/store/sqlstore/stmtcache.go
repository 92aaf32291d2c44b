package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each distinct statement once per pool and reuses it:
// SQLite otherwise parses and plans every query on every call, which the
// profiles showed at 11–17 % of a request. (pgx caches prepared statements
// itself, so PostgreSQL stores do not use it.)
type stmtCache struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}}
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	st := c.stmts[query]
	c.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st = c.stmts[query]; st != nil {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// peek returns the cached statement of query, if any, without preparing.
func (c *stmtCache) peek(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[query]
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// cachedQuerier runs statements through the cache, on the pool or, when tx
// is set, inside that transaction.
type cachedQuerier struct {
	cache *stmtCache
	tx    *sql.Tx
}

func (q cachedQuerier) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if q.tx == nil {
		return q.cache.get(ctx, query)
	}
	// Inside a transaction the pool's only connection (SQLite's writer) is
	// the transaction's: preparing on the pool would wait for it forever.
	// Reuse a statement prepared earlier, else prepare on the transaction.
	if st := q.cache.peek(query); st != nil {
		return q.tx.StmtContext(ctx, st), nil
	}
	return q.tx.PrepareContext(ctx, query)
}

func (q cachedQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (q cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := q.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (q cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := q.stmt(ctx, query)
	if err != nil {
		// Let the plain path report the error through *sql.Row.
		if q.tx != nil {
			return q.tx.QueryRowContext(ctx, query, args...)
		}
		return q.cache.db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
