package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/tenant"
)

// admin guards the admin API with the bearer admin token.
func (s *Server) admin(h func(w http.ResponseWriter, r *http.Request, a idgate.Actor) error) http.Handler {
	return api(func(w http.ResponseWriter, r *http.Request) error {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || tok == "" || s.d.AdminTokenDigest == "" || !secret.DigestEqual(strings.TrimSpace(tok), s.d.AdminTokenDigest) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="idgate-admin"`)
			return &idgate.Error{Code: idgate.CodeUnauthorized, Description: "missing or wrong admin bearer token"}
		}
		return h(w, r, s.actor(r, idgate.ActorAdmin, "admin-token"))
	})
}

func (s *Server) adminCreateProject(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	var in tenant.NewProject
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	creds, err := s.d.Tenants.CreateProject(r.Context(), in, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, creds)
	return nil
}

// ProjectView is a project as the admin API lists it.
type ProjectView struct {
	ProjectID   string    `json:"projectId"`
	Name        string    `json:"name"`
	Environment string    `json:"environment"`
	UserPoolID  string    `json:"userPoolId"`
	Domain      string    `json:"userPoolDomain"`
	MFA         string    `json:"mfa"`
	SigningAlg  string    `json:"signingAlg"`
	Issuer      string    `json:"issuer"`
	CreatedAt   time.Time `json:"createdAt"`
}

func (s *Server) adminListProjects(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	ps, err := s.d.Store.ListProjects(r.Context())
	if err != nil {
		return err
	}
	out := []ProjectView{}
	for _, p := range ps {
		pool, err := s.d.Store.GetPoolByProject(r.Context(), p.ID)
		if err != nil {
			return err
		}
		out = append(out, ProjectView{ProjectID: p.ID, Name: p.Name, Environment: string(p.Environment), UserPoolID: pool.ID,
			Domain: pool.Domain, MFA: pool.MFAPolicy, SigningAlg: pool.SigningAlg, Issuer: s.d.Tokens.Issuer(pool.ID), CreatedAt: p.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": out})
	return nil
}

func (s *Server) adminCreateAPIKey(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	var in struct {
		Permissions []string `json:"permissions"`
	}
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	k, err := s.d.Tenants.CreateAPIKey(r.Context(), r.PathValue("projectId"), in.Permissions, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (s *Server) adminRevokeAPIKey(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	if err := s.d.Tenants.RevokeAPIKey(r.Context(), r.PathValue("keyId"), a); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) adminCreateApp(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	var in tenant.NewApp
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	creds, err := s.d.Tenants.CreateApp(r.Context(), r.PathValue("poolId"), in, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, creds)
	return nil
}

// UserView is a user as the admin API and CLI show it.
type UserView struct {
	Sub           string    `json:"sub"`
	Username      string    `json:"username"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Status        string    `json:"status"`
	UserPoolID    string    `json:"userPoolId"`
	CreatedAt     time.Time `json:"createdAt"`
}

// ViewUser presents a user without any secret.
func ViewUser(u idgate.User) UserView {
	return UserView{Sub: u.Sub, Username: u.Username, Email: u.Email, EmailVerified: u.EmailVerified, Status: u.Status, UserPoolID: u.PoolID, CreatedAt: u.CreatedAt}
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	var in struct {
		Email     string `json:"email"`
		Password  string `json:"password"`
		Confirmed bool   `json:"confirmed"`
	}
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	u, err := s.d.Accounts.CreateUser(r.Context(), account.NewUser{PoolID: r.PathValue("poolId"), Email: in.Email, Password: in.Password, Confirmed: in.Confirmed}, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, ViewUser(u))
	return nil
}

func (s *Server) adminListUsers(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return idgate.InvalidRequest("limit", "must be a number from 1 to 500")
		}
		limit = n
	}
	poolID := r.PathValue("poolId")
	if _, err := s.d.Store.GetPool(r.Context(), poolID); err != nil {
		if errors.Is(err, idgate.ErrNotFound) {
			return idgate.NotFoundError("no user pool " + poolID)
		}
		return err
	}
	page, err := s.d.Store.ListUsers(r.Context(), poolID, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	users := []UserView{}
	for _, u := range page.Users {
		users = append(users, ViewUser(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "next": page.Next})
	return nil
}

func (s *Server) adminRotateKeys(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	var in struct {
		Alg string `json:"alg"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in, true); err != nil {
			return err
		}
	}
	k, err := s.d.Tenants.RotateKeys(r.Context(), r.PathValue("poolId"), in.Alg, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"kid": k.ID, "alg": k.Alg, "userPoolId": k.PoolID, "createdAt": k.CreatedAt})
	return nil
}

func (s *Server) adminGetApp(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	v, err := s.d.Tenants.GetApp(r.Context(), r.PathValue("clientId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) adminUpdateApp(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	var in tenant.AppUpdate
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	v, err := s.d.Tenants.UpdateApp(r.Context(), r.PathValue("clientId"), in, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) adminGetPool(w http.ResponseWriter, r *http.Request, _ idgate.Actor) error {
	p, err := s.pool(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tenant.ViewPool(p))
	return nil
}

func (s *Server) adminUpdatePool(w http.ResponseWriter, r *http.Request, a idgate.Actor) error {
	var in tenant.PoolUpdate
	if err := decodeJSON(w, r, &in, true); err != nil {
		return err
	}
	v, err := s.d.Tenants.UpdatePool(r.Context(), r.PathValue("poolId"), in, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
