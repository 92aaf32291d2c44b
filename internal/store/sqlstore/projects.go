package sqlstore

import (
	"context"
	"fmt"

	"github.com/idgate/idgate/internal/idgate"
)

const projectColumns = "id, name, environment, created_at"

func scanProject(row scanner) (idgate.Project, error) {
	var p idgate.Project
	err := row.Scan(&p.ID, &p.Name, &p.Environment, timeScan{&p.CreatedAt})
	return p, err
}

const sqlCreateProject = `INSERT INTO projects (` + projectColumns + `) VALUES (?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreateProject stores a new project; ErrConflict when the id is taken.
func (s *Store) CreateProject(ctx context.Context, p idgate.Project) error {
	const op = "create project"
	if p.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreateProject, p.ID, p.Name, string(p.Environment), nanos(p.CreatedAt))
}

// insert runs an INSERT … ON CONFLICT DO NOTHING and turns a skipped row
// into ErrConflict.
func (s *Store) insert(ctx context.Context, op, query string, args ...any) error {
	res, err := s.w().ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := affected(res)
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w: key already exists", op, idgate.ErrConflict)
	}
	return nil
}

const sqlGetProject = `SELECT ` + projectColumns + ` FROM projects WHERE id = ?`

// GetProject returns the project with the id; ErrNotFound when unknown.
func (s *Store) GetProject(ctx context.Context, id string) (idgate.Project, error) {
	p, err := scanProject(s.r().QueryRowContext(ctx, s.q(sqlGetProject), id))
	return p, s.wrap("get project", err)
}

const sqlListProjects = `SELECT ` + projectColumns + ` FROM projects ORDER BY created_at, id`

// ListProjects returns every project, oldest first.
func (s *Store) ListProjects(ctx context.Context) ([]idgate.Project, error) {
	return list(ctx, s, "list projects", sqlListProjects, scanProject)
}

const poolColumns = "id, project_id, domain, mfa_policy, signing_alg, password_min_length, hosted_session_ttl, created_at, new_device_alerts"

func scanPool(row scanner) (idgate.Pool, error) {
	var p idgate.Pool
	err := row.Scan(&p.ID, &p.ProjectID, &p.Domain, &p.MFAPolicy, &p.SigningAlg, &p.PasswordMinLength,
		durationScan{&p.HostedSessionTTL}, timeScan{&p.CreatedAt}, &p.NewDeviceAlerts)
	return p, err
}

const sqlCreatePool = `INSERT INTO pools (` + poolColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT DO NOTHING`

// CreatePool stores a new pool. ErrConflict when the id is taken or the
// project has a pool already (a project owns exactly one); ErrNotFound when
// the project does not exist.
func (s *Store) CreatePool(ctx context.Context, p idgate.Pool) error {
	const op = "create pool"
	if p.CreatedAt.IsZero() {
		return fmt.Errorf("%s: %w", op, errNoCreatedAt)
	}
	return s.insert(ctx, op, sqlCreatePool, p.ID, p.ProjectID, p.Domain, p.MFAPolicy, p.SigningAlg,
		p.PasswordMinLength, int64(p.HostedSessionTTL), nanos(p.CreatedAt), p.NewDeviceAlerts)
}

const sqlGetPool = `SELECT ` + poolColumns + ` FROM pools WHERE id = ?`

// GetPool returns the pool with the id; ErrNotFound when unknown.
func (s *Store) GetPool(ctx context.Context, id string) (idgate.Pool, error) {
	p, err := scanPool(s.r().QueryRowContext(ctx, s.q(sqlGetPool), id))
	return p, s.wrap("get pool", err)
}

const sqlGetPoolByProject = `SELECT ` + poolColumns + ` FROM pools WHERE project_id = ?`

// GetPoolByProject returns the project's pool; ErrNotFound when it has none.
func (s *Store) GetPoolByProject(ctx context.Context, projectID string) (idgate.Pool, error) {
	p, err := scanPool(s.r().QueryRowContext(ctx, s.q(sqlGetPoolByProject), projectID))
	return p, s.wrap("get pool by project", err)
}

const (
	sqlLockPoolSQLite = sqlGetPool
	sqlLockPoolPG     = sqlGetPool + ` FOR UPDATE`
	sqlUpdatePool     = `UPDATE pools SET domain = ?, mfa_policy = ?, signing_alg = ?, password_min_length = ?,
	hosted_session_ttl = ?, new_device_alerts = ? WHERE id = ?`
)

// UpdatePool reads the pool, passes it to fn and stores what fn returns, in
// one transaction (on PostgreSQL the row is locked meanwhile). The id,
// project and creation time cannot change; an error from fn is returned
// as is and nothing changes.
func (s *Store) UpdatePool(ctx context.Context, id string, fn func(idgate.Pool) (idgate.Pool, error)) (idgate.Pool, error) {
	const op = "update pool"
	var out idgate.Pool
	err := s.withTx(ctx, func(tx *Store) error {
		old, err := scanPool(tx.tx.QueryRowContext(ctx, tx.pick(sqlLockPoolSQLite, sqlLockPoolPG), id))
		if err != nil {
			return tx.wrap(op, err)
		}
		p, err := fn(old)
		if err != nil {
			return err
		}
		if _, err := tx.tx.ExecContext(ctx, tx.q(sqlUpdatePool), p.Domain, p.MFAPolicy, p.SigningAlg,
			p.PasswordMinLength, int64(p.HostedSessionTTL), p.NewDeviceAlerts, id); err != nil {
			return tx.wrap(op, err)
		}
		out, err = scanPool(tx.tx.QueryRowContext(ctx, tx.q(sqlGetPool), id))
		return tx.wrap(op, err)
	})
	if err != nil {
		return idgate.Pool{}, err
	}
	return out, nil
}
