package web

import (
	"errors"
	"net/http"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/token"
)

// UserDetail is one user with attributes, for administrators.
type UserDetail struct {
	UserView
	Attributes map[string]any `json:"attributes"`
}

func (s *Server) adminGetUser(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	sub, pool := r.PathValue("sub"), r.PathValue("poolId")
	u, err := s.d.Store.GetUser(r.Context(), pool, sub)
	if err != nil {
		if errors.Is(err, idgate.ErrNotFound) {
			return idgate.NotFoundError("no such user in the pool")
		}
		return err
	}
	writeJSON(w, http.StatusOK, UserDetail{UserView: ViewUser(u), Attributes: token.UserClaims(u)})
	return nil
}

func (s *Server) adminUserSessions(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	list, err := s.d.Accounts.Sessions(r.Context(), r.PathValue("poolId"), r.PathValue("sub"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": list})
	return nil
}

func (s *Server) adminRevokeSession(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	err := s.d.Accounts.RevokeSession(r.Context(), r.PathValue("poolId"), r.PathValue("sub"), r.PathValue("sid"), idgate.EndAdminRevoked, a)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminSignOutUser(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	n, err := s.d.Accounts.GlobalSignOut(r.Context(), r.PathValue("poolId"), r.PathValue("sub"), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"revokedSessions": n})
	return nil
}

func (s *Server) adminSetDisabled(disabled bool) func(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
		u, err := s.d.Accounts.SetDisabled(r.Context(), r.PathValue("poolId"), r.PathValue("sub"), disabled, a)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, ViewUser(u))
		return nil
	}
}

func (s *Server) adminExportUser(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	exp, err := s.d.Accounts.ExportUser(r.Context(), r.PathValue("poolId"), r.PathValue("sub"), token.UserClaims)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="user-`+r.PathValue("sub")+`.json"`)
	writeJSON(w, http.StatusOK, exp)
	return nil
}
