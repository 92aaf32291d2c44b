package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/token"
)

// Console pages of a project's users: search, attributes, sessions,
// disable/enable, global sign-out, export and deletion. Every change goes
// through the account use-cases with the administrator as the actor.

// conUsersPage is the user search of one project.
type conUsersPage struct {
	Project idgate.Project
	Pool    idgate.Pool
	Query   string
	Users   []idgate.User
}

func (s *Server) consoleUsers(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	p, pool, err := s.conLoadProject(r, r.PathValue("projectId"))
	if err != nil {
		return err
	}
	v := conUsersPage{Project: p, Pool: pool, Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	if v.Query != "" {
		v.Users, err = s.d.Store.SearchUsers(r.Context(), pool.ID, v.Query, 50)
	} else {
		var page idgate.UserPage
		page, err = s.d.Store.ListUsers(r.Context(), pool.ID, "", 50)
		v.Users = page.Users
	}
	if err != nil {
		return err
	}
	s.consoleRender(w, r, http.StatusOK, "users", consoleView{Title: "Users of " + p.Name, Nav: "projects", Notice: consoleNotice(r), Data: v}, c)
	return nil
}

// conAttrField is one editable attribute of the user page.
type conAttrField struct{ Name, Label, Value, Hint string }

// conUserView is one user: attributes, sessions and actions.
type conUserView struct {
	User      idgate.User
	ProjectID string
	Claims    map[string]any
	Fields    []conAttrField
	Sessions  []account.SessionView
	Base      string // /admin/pools/{poolId}/users/{sub}
}

// conEditableAttrs are the attributes the user page edits: the request names
// of updateuserattribute, read from the user.
var conEditableAttrs = []struct {
	name, label, hint string
	get               func(u idgate.User) string
}{
	{"email", "Email", "changing it clears email_verified", func(u idgate.User) string { return u.Email }},
	{"name", "Name", "", func(u idgate.User) string { return u.Profile.Name }},
	{"given_name", "Given name", "", func(u idgate.User) string { return u.Profile.GivenName }},
	{"family_name", "Family name", "", func(u idgate.User) string { return u.Profile.FamilyName }},
	{"phone_number", "Phone number", "E.164, e.g. +14255551212", func(u idgate.User) string { return u.Profile.PhoneNumber }},
	{"locale", "Locale", "BCP 47, e.g. en-US", func(u idgate.User) string { return u.Profile.Locale }},
	{"zoneinfo", "Time zone", "IANA, e.g. Europe/Paris", func(u idgate.User) string { return u.Profile.Zoneinfo }},
	{"birthdate", "Birthdate", "YYYY-MM-DD", func(u idgate.User) string { return u.Profile.Birthdate }},
	{"roles", "Roles", "comma-separated", func(u idgate.User) string { return strings.Join(u.Roles, ", ") }},
	{"groups", "Groups", "comma-separated", func(u idgate.User) string { return strings.Join(u.Groups, ", ") }},
	{"action", "Actions", "comma-separated", func(u idgate.User) string { return strings.Join(u.Actions, ", ") }},
	{"attributes", "Attributes", "comma-separated", func(u idgate.User) string { return strings.Join(u.Attributes, ", ") }},
}

func (s *Server) conLoadUser(r *http.Request) (idgate.Pool, idgate.User, error) {
	pool, err := s.d.Store.GetPool(r.Context(), r.PathValue("poolId"))
	if errors.Is(err, idgate.ErrNotFound) {
		return pool, idgate.User{}, idgate.NotFoundError("There is no such user pool.")
	}
	if err != nil {
		return pool, idgate.User{}, err
	}
	u, err := s.d.Store.GetUser(r.Context(), pool.ID, r.PathValue("sub"))
	if errors.Is(err, idgate.ErrNotFound) {
		return pool, u, idgate.NotFoundError("There is no such user (deleted users are gone for good).")
	}
	return pool, u, err
}

func (s *Server) consoleUser(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	return s.conUserPage(w, r, c, http.StatusOK, "", nil)
}

func (s *Server) conUserPage(w http.ResponseWriter, r *http.Request, c *console.Current, status int, msg string, posted map[string]string) error {
	pool, u, err := s.conLoadUser(r)
	if err != nil {
		return err
	}
	sessions, err := s.d.Accounts.Sessions(r.Context(), pool.ID, u.Sub)
	if err != nil {
		return err
	}
	v := conUserView{User: u, ProjectID: pool.ProjectID, Claims: token.UserClaims(u), Sessions: sessions,
		Base: "/admin/pools/" + pool.ID + "/users/" + u.Sub}
	for _, a := range conEditableAttrs {
		val := a.get(u)
		if p, ok := posted[a.name]; ok {
			val = p
		}
		v.Fields = append(v.Fields, conAttrField{Name: a.name, Label: a.label, Value: val, Hint: a.hint})
	}
	s.consoleRender(w, r, status, "user", consoleView{Title: u.Email, Nav: "projects", Error: msg, Notice: consoleNotice(r), Data: v}, c)
	return nil
}

// consoleUserAttributes sends the changed attributes to the same use-case
// (and validation) as the session API's updateuserattribute.
func (s *Server) consoleUserAttributes(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	pool, u, err := s.conLoadUser(r)
	if err != nil {
		return err
	}
	values := map[string]json.RawMessage{}
	posted := map[string]string{}
	for _, a := range conEditableAttrs {
		v := strings.TrimSpace(r.PostForm.Get(a.name))
		posted[a.name] = v
		if _, sent := r.PostForm[a.name]; !sent || v == a.get(u) {
			continue
		}
		b, _ := json.Marshal(v)
		values[a.name] = b
	}
	if len(values) == 0 {
		return s.conUserPage(w, r, c, http.StatusBadRequest, "Nothing was changed.", posted)
	}
	_, err = s.d.Accounts.UpdateAttributes(r.Context(), pool.ProjectID, account.AttributeUpdate{PoolID: pool.ID, Sub: u.Sub,
		Values: values}, c.Actor(s.consoleMeta(r)))
	if err != nil {
		if msg, ok := conErrText(err); ok {
			return s.conUserPage(w, r, c, http.StatusBadRequest, msg, posted)
		}
		return err
	}
	return consoleDone(w, r, "/admin/pools/"+pool.ID+"/users/"+u.Sub, "attributes")
}

func (s *Server) consoleRevokeSession(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	pool, sub := r.PathValue("poolId"), r.PathValue("sub")
	if err := s.d.Accounts.RevokeSession(r.Context(), pool, sub, r.PathValue("sid"), idgate.EndAdminRevoked, c.Actor(s.consoleMeta(r))); err != nil {
		return err
	}
	return consoleDone(w, r, "/admin/pools/"+pool+"/users/"+sub, "revoked")
}

func (s *Server) consoleSignOutUser(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	pool, sub := r.PathValue("poolId"), r.PathValue("sub")
	if _, err := s.d.Accounts.GlobalSignOut(r.Context(), pool, sub, c.Actor(s.consoleMeta(r))); err != nil {
		return err
	}
	return consoleDone(w, r, "/admin/pools/"+pool+"/users/"+sub, "signedout")
}

func (s *Server) consoleSetDisabled(disabled bool) consoleHandler {
	return func(w http.ResponseWriter, r *http.Request, c *console.Current) error {
		pool, sub := r.PathValue("poolId"), r.PathValue("sub")
		if _, err := s.d.Accounts.SetDisabled(r.Context(), pool, sub, disabled, c.Actor(s.consoleMeta(r))); err != nil {
			return err
		}
		done := "enabled"
		if disabled {
			done = "disabled"
		}
		return consoleDone(w, r, "/admin/pools/"+pool+"/users/"+sub, done)
	}
}

// consoleExportUser downloads everything stored about the user as JSON.
func (s *Server) consoleExportUser(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	exp, err := s.d.Accounts.ExportUser(r.Context(), r.PathValue("poolId"), r.PathValue("sub"), token.UserClaims)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Disposition", `attachment; filename="user-`+r.PathValue("sub")+`.json"`)
	writeJSON(w, http.StatusOK, exp)
	return nil
}

// conDeleteView is the deletion confirmation: what will be erased, and the
// form (type the email, give a reason, enter a TOTP code).
type conDeleteView struct {
	User    idgate.User
	Summary *account.DeletionSummary
	Base    string
	Reason  string
}

func (s *Server) consoleDeleteForm(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	return s.conDeletePage(w, r, c, http.StatusOK, "")
}

func (s *Server) conDeletePage(w http.ResponseWriter, r *http.Request, c *console.Current, status int, msg string) error {
	pool, u, err := s.conLoadUser(r)
	if err != nil {
		return err
	}
	dry, err := s.d.Accounts.DeleteUser(r.Context(), pool.ProjectID, account.DeleteRequest{PoolID: pool.ID, Sub: u.Sub, DryRun: true},
		c.Actor(s.consoleMeta(r)))
	if err != nil {
		return err
	}
	v := conDeleteView{User: u, Summary: dry.Summary, Base: "/admin/pools/" + pool.ID + "/users/" + u.Sub}
	if r.Method == http.MethodPost {
		v.Reason = r.PostForm.Get("reason")
	}
	s.consoleRender(w, r, status, "delete", consoleView{Title: "Delete " + u.Email, Nav: "projects", Error: msg, Data: v}, c)
	return nil
}

// consoleDeleteUser runs both phases of the deletion (SPEC §3.2) after the
// confirmations: the typed email must match, a reason is required and the
// form must carry a TOTP code (checked by consoleReauth) — the window of an
// earlier re-entry is not enough for this one.
func (s *Server) consoleDeleteUser(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	pool, u, err := s.conLoadUser(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	switch {
	case !strings.EqualFold(strings.TrimSpace(f.Get("confirmEmail")), u.Email):
		return s.conDeletePage(w, r, c, http.StatusBadRequest, "Type the user's email address exactly to confirm.")
	case strings.TrimSpace(f.Get("reason")) == "":
		return s.conDeletePage(w, r, c, http.StatusBadRequest, "Give a reason: it is kept in the audit trail.")
	case strings.TrimSpace(f.Get("totp")) == "":
		return s.conDeletePage(w, r, c, http.StatusBadRequest, "Enter the current code from your authenticator app.")
	}
	actor := c.Actor(s.consoleMeta(r))
	first, err := s.d.Accounts.DeleteUser(r.Context(), pool.ProjectID, account.DeleteRequest{PoolID: pool.ID, Sub: u.Sub, Reason: f.Get("reason")}, actor)
	if err != nil {
		if msg, ok := conErrText(err); ok {
			return s.conDeletePage(w, r, c, http.StatusBadRequest, msg)
		}
		return err
	}
	if _, err := s.d.Accounts.DeleteUser(r.Context(), pool.ProjectID, account.DeleteRequest{ConfirmationToken: first.ConfirmationToken}, actor); err != nil {
		return err
	}
	return consoleDone(w, r, "/admin/projects/"+pool.ProjectID+"/users", "deleted")
}
