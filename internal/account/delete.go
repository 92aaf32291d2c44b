package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
)

// ConfirmationTTL is how long a deletion confirmation token stays valid.
const ConfirmationTTL = 10 * time.Minute

// DeleteRequest is either the first phase of a deletion (PoolID, Email or
// Sub, Reason, optionally DryRun) or the second (ConfirmationToken alone).
type DeleteRequest struct {
	PoolID            string
	Email             string
	Sub               string
	Reason            string
	DryRun            bool
	ConfirmationToken string
}

// DeletionSummary tells the administrator what a deletion would erase.
type DeletionSummary struct {
	Sub            string    `json:"sub"`
	Email          string    `json:"email"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"createdAt"`
	ActiveSessions int       `json:"activeSessions"`
	TotalSessions  int       `json:"totalSessions"`
	Apps           []string  `json:"apps"`
}

// DeleteResult is the outcome of either phase.
type DeleteResult struct {
	// Phase one: the token to send back, and until when.
	ConfirmationToken string           `json:"confirmationToken,omitempty"`
	ExpiresAt         *time.Time       `json:"expiresAt,omitempty"`
	Summary           *DeletionSummary `json:"summary,omitempty"`
	DryRun            bool             `json:"dryRun,omitempty"`
	// Phase two.
	Deleted         bool   `json:"deleted"`
	DeletedSub      string `json:"sub,omitempty"`
	RevokedSessions int    `json:"revokedSessions,omitempty"`
}

// DeleteUser runs a deletion phase for a caller of projectID. The first
// phase deletes nothing: it returns a summary and (unless a dry run) a
// confirmation token valid ConfirmationTTL. The second phase, given that
// token, ends every session, erases the user's personal data for good,
// records the event (keeping only the sub and the reason) and emails the
// user that the account was deleted.
func (s *Service) DeleteUser(ctx context.Context, projectID string, r DeleteRequest, actor idgate.Actor) (DeleteResult, error) {
	if r.ConfirmationToken != "" {
		return s.confirmDeletion(ctx, projectID, r.ConfirmationToken, actor)
	}
	pool, err := s.poolOfProject(ctx, projectID, r.PoolID)
	if err != nil {
		return DeleteResult{}, err
	}
	if r.Email == "" && r.Sub == "" {
		return DeleteResult{}, idgate.InvalidRequest("email", "is required (or sub, or confirmationToken)")
	}
	r.Reason = strings.TrimSpace(r.Reason)
	if !r.DryRun && r.Reason == "" {
		return DeleteResult{}, idgate.InvalidRequest("reason", "is required: say why the user is deleted (kept in the audit trail)")
	}
	if len(r.Reason) > 500 {
		return DeleteResult{}, idgate.InvalidRequest("reason", "must be at most 500 characters")
	}
	u, err := s.findUser(ctx, pool.ID, r.Email, r.Sub)
	if err != nil {
		return DeleteResult{}, err
	}
	sum, err := s.summary(ctx, u)
	if err != nil {
		return DeleteResult{}, err
	}
	if r.DryRun {
		return DeleteResult{Summary: &sum, DryRun: true}, nil
	}
	token := idgate.NewSecret("del_")
	now := s.now()
	exp := now.Add(ConfirmationTTL)
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateDeletionRequest(ctx, idgate.DeletionRequest{
			Hash: secret.Digest(token), PoolID: pool.ID, UserSub: u.Sub, Reason: r.Reason,
			ActorType: actor.Type, ActorID: actor.ID, CreatedAt: now, ExpiresAt: exp,
		}); err != nil {
			return err
		}
		return s.event(ctx, tx, pool, idgate.EventDeletionRequested, actor, u.Sub, map[string]any{"reason": r.Reason})
	})
	if err != nil {
		return DeleteResult{}, err
	}
	return DeleteResult{ConfirmationToken: token, ExpiresAt: &exp, Summary: &sum}, nil
}

func (s *Service) summary(ctx context.Context, u idgate.User) (DeletionSummary, error) {
	sessions, err := s.store.ListSessions(ctx, u.PoolID, u.Sub)
	if err != nil {
		return DeletionSummary{}, err
	}
	sum := DeletionSummary{Sub: u.Sub, Email: u.Email, Status: u.Status, CreatedAt: u.CreatedAt, TotalSessions: len(sessions), Apps: []string{}}
	now := s.now()
	for _, se := range sessions {
		if se.Active(now) {
			sum.ActiveSessions++
		}
		if !slices.Contains(sum.Apps, se.ClientID) {
			sum.Apps = append(sum.Apps, se.ClientID)
		}
	}
	return sum, nil
}

var errBadConfirmation = idgate.InvalidRequest("confirmationToken", "is invalid, expired or already used; start the deletion again")

func (s *Service) confirmDeletion(ctx context.Context, projectID, token string, actor idgate.Actor) (DeleteResult, error) {
	now := s.now()
	var req idgate.DeletionRequest
	var pool idgate.Pool
	var user idgate.User
	var ended []string
	err := s.store.InTx(ctx, func(tx idgate.Store) error {
		var err error
		req, err = tx.UseDeletionRequest(ctx, secret.Digest(token), now)
		if errors.Is(err, idgate.ErrNotFound) || errors.Is(err, idgate.ErrUsed) {
			return errBadConfirmation
		}
		if err != nil {
			return err
		}
		if !now.Before(req.ExpiresAt) {
			return errBadConfirmation
		}
		if pool, err = tx.GetPool(ctx, req.PoolID); err != nil {
			return err
		}
		if projectID != "" && pool.ProjectID != projectID {
			return errBadConfirmation
		}
		if user, err = tx.GetUser(ctx, pool.ID, req.UserSub); errors.Is(err, idgate.ErrNotFound) {
			return idgate.NotFoundError("the user no longer exists")
		} else if err != nil {
			return err
		}
		if ended, err = tx.EndUserSessions(ctx, pool.ID, user.Sub, now, idgate.EndUserDeleted, ""); err != nil {
			return err
		}
		if _, err := tx.EndUserHostedSessions(ctx, pool.ID, user.Sub, now, idgate.EndUserDeleted); err != nil {
			return err
		}
		if err := tx.ScrubUserSessions(ctx, pool.ID, user.Sub); err != nil {
			return err
		}
		if err := tx.DeleteUser(ctx, pool.ID, user.Sub); err != nil {
			return err
		}
		return s.event(ctx, tx, pool, idgate.EventUserDeleted, actor, user.Sub,
			map[string]any{"reason": req.Reason, "requested_by": req.ActorID, "sessions_ended": len(ended)})
	})
	if err != nil {
		return DeleteResult{}, err
	}
	if s.OnSessionsEnded != nil && len(ended) > 0 {
		s.OnSessionsEnded(pool.ID, ended)
	}
	s.notifyDeleted(ctx, pool, user.Email)
	return DeleteResult{Deleted: true, DeletedSub: user.Sub, RevokedSessions: len(ended)}, nil
}

// notifyDeleted tells the user their account is gone. The deletion has
// already committed; a mail failure is logged, not returned.
func (s *Service) notifyDeleted(ctx context.Context, pool idgate.Pool, email string) {
	if s.mailer == nil || s.emails == nil || email == "" {
		return
	}
	msg, err := s.emails.Render(notify.TemplateAccountDeleted, notify.AccountDeletedData{
		Brand: notify.Brand{AppName: s.brandName(ctx, pool)}, DeletedAt: s.now()})
	if err == nil {
		msg.To, msg.ProjectID = email, pool.ProjectID
		err = s.mailer.Send(ctx, msg)
	}
	if err != nil {
		slog.ErrorContext(ctx, "account deletion email not sent", "pool", pool.ID, "err", fmt.Sprint(err))
	}
}

// brandName is the name users know a pool by: its project's name.
func (s *Service) brandName(ctx context.Context, pool idgate.Pool) string {
	if p, err := s.store.GetProject(ctx, pool.ProjectID); err == nil {
		return p.Name
	}
	return pool.Domain
}
