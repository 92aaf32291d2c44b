package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
)

// Console pages of projects, apps and API keys. Every change goes through
// the tenant use-cases, as the admin API's do.

func (s *Server) consoleProjects(w http.ResponseWriter, r *http.Request, c *console.Current) error {
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
	s.consoleRender(w, r, http.StatusOK, "projects", consoleView{Title: "Projects", Nav: "projects", Notice: consoleNotice(r), Data: out}, c)
	return nil
}

// conNewProjectView is the project creation form, kept on errors.
type conNewProjectView struct {
	Name, Environment, AppType, CallbackURL, MFA string
}

func (s *Server) consoleNewProject(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	v := conNewProjectView{Environment: string(idgate.EnvDevelopment), AppType: string(idgate.AppWeb), MFA: idgate.MFARequired}
	s.consoleRender(w, r, http.StatusOK, "project_new", consoleView{Title: "Create a project", Nav: "projects", Data: v}, c)
	return nil
}

// consoleCreateProject creates the project and shows its credentials once.
func (s *Server) consoleCreateProject(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	f := r.PostForm
	v := conNewProjectView{Name: f.Get("name"), Environment: f.Get("environment"), AppType: f.Get("appType"),
		CallbackURL: strings.TrimSpace(f.Get("callbackUrl")), MFA: f.Get("mfa")}
	in := tenant.NewProject{Name: v.Name, Environment: v.Environment, AppType: v.AppType, MFA: v.MFA, CallbackURLs: conFormLines(v.CallbackURL)}
	creds, err := s.d.Tenants.CreateProject(r.Context(), in, c.Actor(s.consoleMeta(r)))
	if err != nil {
		msg, ok := conErrText(err)
		if !ok {
			return err
		}
		s.consoleRender(w, r, http.StatusBadRequest, "project_new", consoleView{Title: "Create a project", Nav: "projects", Error: msg, Data: v}, c)
		return nil
	}
	s.consoleRender(w, r, http.StatusCreated, "credentials", consoleView{Title: "Project created", Nav: "projects", Data: creds}, c)
	return nil
}

// conProjectView is the project overview: pool, apps, API keys.
type conProjectView struct {
	Project        idgate.Project
	Pool           idgate.Pool
	Issuer         string
	Apps           []tenant.AppView
	Keys           []idgate.APIKey
	ActiveSessions int
	Permissions    []string
	Defaults       []string
}

func (s *Server) conLoadProject(r *http.Request, id string) (idgate.Project, idgate.Pool, error) {
	p, err := s.d.Store.GetProject(r.Context(), id)
	if errors.Is(err, idgate.ErrNotFound) {
		return p, idgate.Pool{}, idgate.NotFoundError("There is no project " + id + ".")
	}
	if err != nil {
		return p, idgate.Pool{}, err
	}
	pool, err := s.d.Store.GetPoolByProject(r.Context(), id)
	return p, pool, err
}

func (s *Server) consoleProject(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	return s.conProjectPage(w, r, c, r.PathValue("projectId"), http.StatusOK, "")
}

func (s *Server) conProjectPage(w http.ResponseWriter, r *http.Request, c *console.Current, id string, status int, msg string) error {
	ctx := r.Context()
	p, pool, err := s.conLoadProject(r, id)
	if err != nil {
		return err
	}
	apps, err := s.d.Store.ListApps(ctx, pool.ID)
	if err != nil {
		return err
	}
	keys, err := s.d.Store.ListAPIKeys(ctx, p.ID)
	if err != nil {
		return err
	}
	active, err := s.d.Store.CountActiveSessions(ctx, pool.ID, s.d.Now())
	if err != nil {
		return err
	}
	v := conProjectView{Project: p, Pool: pool, Issuer: s.d.Tokens.Issuer(pool.ID), Keys: keys, ActiveSessions: active,
		Permissions: idgate.AllPermissions, Defaults: idgate.DefaultKeyPermissions}
	for _, a := range apps {
		v.Apps = append(v.Apps, s.d.Tenants.ViewApp(a))
	}
	s.consoleRender(w, r, status, "project", consoleView{Title: p.Name, Nav: "projects", Error: msg, Notice: consoleNotice(r), Data: v}, c)
	return nil
}

// consoleCreateApp registers another app and shows its credentials once.
func (s *Server) consoleCreateApp(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	id := r.PathValue("projectId")
	_, pool, err := s.conLoadProject(r, id)
	if err != nil {
		return err
	}
	f := r.PostForm
	creds, err := s.d.Tenants.CreateApp(r.Context(), pool.ID, tenant.NewApp{Name: f.Get("name"), AppType: f.Get("appType"),
		CallbackURLs: conFormLines(f.Get("callbackUrl"))}, c.Actor(s.consoleMeta(r)))
	if err != nil {
		if msg, ok := conErrText(err); ok {
			return s.conProjectPage(w, r, c, id, http.StatusBadRequest, msg)
		}
		return err
	}
	items := []conOnceItem{{"clientId", "clientId", creds.ClientID}}
	if creds.ClientSecret != "" {
		items = append(items, conOnceItem{"clientSecret", "clientSecret", creds.ClientSecret})
	}
	items = append(items, conOnceItem{"codeURL", "codeURL", creds.CodeURL})
	return s.conShownOnce(w, r, c, "App registered", "Save the client secret now: it is shown only once.", items,
		"/admin/projects/"+id, "Back to the project")
}

// consoleCreateAPIKey issues a key with the checked permissions.
func (s *Server) consoleCreateAPIKey(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	id := r.PathValue("projectId")
	k, err := s.d.Tenants.CreateAPIKey(r.Context(), id, r.PostForm["permissions"], c.Actor(s.consoleMeta(r)))
	if err != nil {
		if msg, ok := conErrText(err); ok {
			return s.conProjectPage(w, r, c, id, http.StatusBadRequest, msg)
		}
		return err
	}
	return s.conShownOnce(w, r, c, "API key created", "Save the key now: it is shown only once. Permissions: "+strings.Join(k.Permissions, ", ")+".",
		[]conOnceItem{{"apiKeyId", "apiKeyId", k.APIKeyID}, {"apiKey", "apiKey", k.APIKey}}, "/admin/projects/"+id, "Back to the project")
}

// consoleRevokeAPIKey revokes a key (a destructive action: TOTP re-entry).
func (s *Server) consoleRevokeAPIKey(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	k, err := s.d.Store.GetAPIKey(r.Context(), r.PathValue("keyId"))
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.NotFoundError("There is no such API key.")
	}
	if err != nil {
		return err
	}
	if err := s.d.Tenants.RevokeAPIKey(r.Context(), k.ID, c.Actor(s.consoleMeta(r))); err != nil {
		return err
	}
	return consoleDone(w, r, "/admin/projects/"+k.ProjectID, "keyrevoked")
}

// conAppView is an app's settings page.
type conAppView struct {
	App                 tenant.AppView
	ProjectID           string
	Confidential        bool
	Callbacks, Logouts  string
	IDRange, RefreshRng tenant.ValidityRange
	Units               []string
}

func (s *Server) consoleApp(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	return s.conAppPage(w, r, c, http.StatusOK, "")
}

func (s *Server) conAppPage(w http.ResponseWriter, r *http.Request, c *console.Current, status int, msg string) error {
	a, err := s.d.Store.GetApp(r.Context(), r.PathValue("clientId"))
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.NotFoundError("There is no such app.")
	}
	if err != nil {
		return err
	}
	v := conAppView{App: s.d.Tenants.ViewApp(a), ProjectID: a.ProjectID, Confidential: a.Type.Confidential(),
		Callbacks: strings.Join(a.CallbackURLs, "\n"), Logouts: strings.Join(a.LogoutURLs, "\n"),
		Units: []string{"seconds", "minutes", "hours", "days"}}
	v.IDRange, v.RefreshRng = tenant.ValidityRanges()
	s.consoleRender(w, r, status, "app", consoleView{Title: a.Name, Nav: "projects", Error: msg, Notice: consoleNotice(r), Data: v}, c)
	return nil
}

// consoleAppURLs saves the callback and logout URLs.
func (s *Server) consoleAppURLs(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	id := r.PathValue("clientId")
	cb, lo := conFormLines(r.PostForm.Get("callbackUrls")), conFormLines(r.PostForm.Get("logoutUrls"))
	if _, err := s.d.Tenants.UpdateApp(r.Context(), id, tenant.AppUpdate{CallbackURLs: &cb, LogoutURLs: &lo}, c.Actor(s.consoleMeta(r))); err != nil {
		if msg, ok := conErrText(err); ok {
			return s.conAppPage(w, r, c, http.StatusBadRequest, msg)
		}
		return err
	}
	return consoleDone(w, r, "/admin/apps/"+id, "urls")
}

// consoleAppValidity saves the token lifetimes through the same use-case
// as the session API's updatetokenvalidity.
func (s *Server) consoleAppValidity(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	id := r.PathValue("clientId")
	a, err := s.d.Store.GetApp(r.Context(), id)
	if errors.Is(err, idgate.ErrNotFound) {
		return idgate.NotFoundError("There is no such app.")
	}
	if err != nil {
		return err
	}
	in := tenant.ValidityUpdate{ClientID: id, Units: tenant.ValidityUnits{IDToken: r.PostForm.Get("idUnit"),
		AccessToken: r.PostForm.Get("accessUnit"), RefreshToken: r.PostForm.Get("refreshUnit")}}
	for name, dst := range map[string]**int64{"idTokenValidity": &in.IDTokenValidity, "accessTokenValidity": &in.AccessTokenValidity,
		"refreshTokenValidity": &in.RefreshTokenValidity} {
		n, ok := conFormInt(r, name)
		if !ok {
			return s.conAppPage(w, r, c, http.StatusBadRequest, name+": must be a whole number above zero")
		}
		*dst = &n
	}
	if _, err := s.d.Tenants.UpdateTokenValidity(r.Context(), a.ProjectID, in, c.Actor(s.consoleMeta(r))); err != nil {
		if msg, ok := conErrText(err); ok {
			return s.conAppPage(w, r, c, http.StatusBadRequest, msg)
		}
		return err
	}
	return consoleDone(w, r, "/admin/apps/"+id, "validity")
}

// consoleRotateSecret replaces a web app's secret (destructive: the old
// one stops working) and shows the new one once.
func (s *Server) consoleRotateSecret(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	id := r.PathValue("clientId")
	sec, err := s.d.Tenants.RotateAppSecret(r.Context(), id, c.Actor(s.consoleMeta(r)))
	if err != nil {
		return err
	}
	return s.conShownOnce(w, r, c, "Client secret rotated", "The previous secret no longer works. Save the new one now: it is shown only once.",
		[]conOnceItem{{"clientId", "clientId", id}, {"clientSecret", "clientSecret", sec}}, "/admin/apps/"+id, "Back to the app")
}
