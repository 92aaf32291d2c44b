package web

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/token"
)

//go:embed assets
var assets embed.FS

var pages = map[string]*template.Template{
	"login": template.Must(template.ParseFS(assets, "assets/layout.html", "assets/login.html")),
	"error": template.Must(template.ParseFS(assets, "assets/layout.html", "assets/error.html")),
}

// pageCSP is the Content-Security-Policy of the hosted pages: nothing but
// our own stylesheet and data: images, no scripts, no framing.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"

// page is the data every hosted page template gets.
type page struct {
	Title, AppName, Error, PoolID, Email, Message, RequestID string
	Hidden                                                   map[string]string
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", pageCSP)
	w.WriteHeader(status)
	if err := pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		s.d.Logger.ErrorContext(r.Context(), "render page", "page", name, "err", err.Error())
	}
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.render(w, r, status, "error", page{Title: "Something went wrong", Message: msg, RequestID: requestID(r.Context())})
}

// authRequest is an authorization request of the hosted login: the code
// URL's parameters, carried through the form as hidden fields and checked
// again on every step.
type authRequest struct {
	ClientID, RedirectURI, State, CodeChallenge, CodeChallengeMethod, Nonce, Scope string
}

func (a authRequest) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"client_id": a.ClientID, "redirect_uri": a.RedirectURI, "state": a.State,
		"code_challenge": a.CodeChallenge, "code_challenge_method": a.CodeChallengeMethod, "nonce": a.Nonce, "scope": a.Scope} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

func (a authRequest) hidden() map[string]string {
	m := map[string]string{}
	for k, v := range a.values() {
		m[k] = v[0]
	}
	return m
}

var pkceChallenge = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// authError is a problem with an authorization request. Redirect says
// whether it may be reported to the client's (validated) redirect URI.
type authError struct {
	status   int
	code     string
	desc     string
	redirect bool
}

// parseAuthRequest validates the parameters against the app. Until the
// redirect URI is known good, errors are shown on our own page; after, they
// go back to the client as RFC 6749 §4.1.2.1 errors.
func (s *Server) parseAuthRequest(r *http.Request, v url.Values, clientID string) (authRequest, idgate.App, *authError) {
	a := authRequest{ClientID: clientID, RedirectURI: v.Get("redirect_uri"), State: v.Get("state"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
		Nonce: v.Get("nonce"), Scope: v.Get("scope")}
	app, err := s.d.Store.GetApp(r.Context(), clientID)
	if errors.Is(err, idgate.ErrNotFound) {
		return a, app, &authError{status: http.StatusNotFound, desc: "This sign-in link is not valid: the application is unknown."}
	}
	if err != nil {
		return a, app, &authError{status: http.StatusServiceUnavailable, desc: "Sign-in is temporarily unavailable. Please try again shortly."}
	}
	if a.RedirectURI == "" {
		a.RedirectURI = app.CallbackURLs[0]
	}
	if !app.HasCallback(a.RedirectURI) {
		return a, app, &authError{status: http.StatusBadRequest, desc: "This sign-in link is not valid: the redirect URI is not registered for the application."}
	}
	bad := func(code, desc string) *authError {
		return &authError{status: http.StatusBadRequest, code: code, desc: desc, redirect: true}
	}
	switch {
	case len(a.State) > 1024:
		return a, app, bad(idgate.CodeInvalidRequest, "state is longer than 1024 characters")
	case len(a.Nonce) > 512:
		return a, app, bad(idgate.CodeInvalidRequest, "nonce is longer than 512 characters")
	case a.CodeChallenge == "" && a.CodeChallengeMethod != "":
		return a, app, bad(idgate.CodeInvalidRequest, "code_challenge_method sent without code_challenge")
	case a.CodeChallenge != "" && a.CodeChallengeMethod != "S256":
		return a, app, bad(idgate.CodeInvalidRequest, "code_challenge_method must be S256")
	case a.CodeChallenge != "" && !pkceChallenge.MatchString(a.CodeChallenge):
		return a, app, bad(idgate.CodeInvalidRequest, "code_challenge must be 43 to 128 characters of base64url")
	case a.CodeChallenge == "" && !app.Type.Confidential():
		return a, app, bad(idgate.CodeInvalidRequest, "public clients must use PKCE (code_challenge with S256)")
	}
	if a.Scope == "" {
		a.Scope = strings.Join(app.Scopes, " ")
	}
	for _, sc := range strings.Fields(a.Scope) {
		if !slices.Contains(app.Scopes, sc) {
			return a, app, bad(idgate.CodeInvalidScope, "scope "+sc+" is not allowed for this client")
		}
	}
	return a, app, nil
}

// failAuth reports an authorization request error where it belongs.
func (s *Server) failAuth(w http.ResponseWriter, r *http.Request, a authRequest, e *authError) {
	if !e.redirect {
		s.errorPage(w, r, e.status, e.desc)
		return
	}
	q := url.Values{"error": {e.code}, "error_description": {e.desc}}
	if a.State != "" {
		q.Set("state", a.State)
	}
	http.Redirect(w, r, withQuery(a.RedirectURI, q), http.StatusFound)
}

func withQuery(uri string, q url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + q.Encode()
}

// codeURL starts the hosted login for an app (the documents'
// buttonCodeCallbackURL).
func (s *Server) codeURL(w http.ResponseWriter, r *http.Request) {
	a, app, aerr := s.parseAuthRequest(r, r.URL.Query(), r.PathValue("clientId"))
	if aerr != nil {
		s.failAuth(w, r, a, aerr)
		return
	}
	http.Redirect(w, r, "/"+app.PoolID+"/login?"+a.values().Encode(), http.StatusFound)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, r.URL.Query(), http.StatusOK, "", "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, v url.Values, status int, email, msg string) {
	a, app, aerr := s.parseAuthRequest(r, v, v.Get("client_id"))
	if aerr == nil && app.PoolID != r.PathValue("poolId") {
		aerr = &authError{status: http.StatusNotFound, desc: "This sign-in link is not valid for this user pool."}
	}
	if aerr != nil {
		s.failAuth(w, r, a, aerr)
		return
	}
	s.render(w, r, status, "login", page{Title: "Sign in", AppName: app.Name, PoolID: app.PoolID, Email: email, Error: msg, Hidden: a.hidden()})
}

// login checks the email and password and, on success, sends the browser
// back to the app with a single-use code.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	a, app, aerr := s.parseAuthRequest(r, f, f.Get("client_id"))
	if aerr == nil && app.PoolID != r.PathValue("poolId") {
		aerr = &authError{status: http.StatusNotFound, desc: "This sign-in link is not valid for this user pool."}
	}
	if aerr != nil {
		s.failAuth(w, r, a, aerr)
		return
	}
	email, password := strings.TrimSpace(f.Get("email")), f.Get("password")
	if email == "" || password == "" {
		s.showLogin(w, r, f, http.StatusBadRequest, email, "Enter your email and password.")
		return
	}
	actor := s.actor(r, idgate.ActorUser, "")
	user, err := s.d.Accounts.Authenticate(r.Context(), app.PoolID, email, password, actor)
	var ie *idgate.Error
	if errors.As(err, &ie) {
		s.showLogin(w, r, f, http.StatusUnauthorized, email, ie.Description+".")
		return
	}
	if err != nil {
		s.d.Logger.ErrorContext(r.Context(), "login failed", "err", err.Error())
		s.errorPage(w, r, http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Please try again shortly.")
		return
	}
	code, err := s.d.Tokens.IssueCode(r.Context(), token.CodeRequest{
		App: app, User: user, RedirectURI: a.RedirectURI, CodeChallenge: a.CodeChallenge, CodeChallengeMethod: a.CodeChallengeMethod,
		Nonce: a.Nonce, Scope: a.Scope, AuthTime: s.d.Now(), AMR: []string{"pwd"}, IP: actor.IP, UserAgent: actor.UserAgent,
	})
	if err != nil {
		s.d.Logger.ErrorContext(r.Context(), "issue code", "err", err.Error())
		s.errorPage(w, r, http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Please try again shortly.")
		return
	}
	q := url.Values{"code": {code}}
	if a.State != "" {
		q.Set("state", a.State)
	}
	http.Redirect(w, r, withQuery(a.RedirectURI, q), http.StatusSeeOther)
}

func (s *Server) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, assets, "assets/idgate.css")
}
