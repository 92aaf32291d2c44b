package web

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/token"
)

// The hosted login: entry points (the code URL and the issuer's authorize
// endpoint), the authorization request they share, single sign-on from the
// hosted session, and the end of every successful sign-in (a code sent to
// the app's callback). The pages of each step are in hosted_pages.go.

//go:embed assets
var assets embed.FS

var pages = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{"login", "error", "signup", "verify", "mfa", "enrol", "offer", "recovery",
		"forgot", "reset", "account"} {
		m[name] = template.Must(template.ParseFS(assets, "assets/layout.html", "assets/"+name+".html"))
	}
	return m
}()

// pageCSP is the Content-Security-Policy of the hosted pages: nothing but
// our own stylesheet and data: images, no scripts, no framing.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// page is the data every hosted page template gets.
type page struct {
	Title, AppName, Error, PoolID, Email, Message, RequestID string
	Hidden                                                   map[string]string
	// Notice is a confirmation shown above the form (not an error).
	Notice string
	// Links to the other pages of the same authorization request.
	LoginURL, SignupURL, ForgotURL, ContinueURL template.URL
	// QR is the enrolment QR code (a data: URI of a PNG); Secret the same
	// key for manual entry.
	QR     template.URL
	Secret string
	// Codes are recovery codes, shown once.
	Codes     []string
	MinLength int
	Account   *accountView
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

// unavailable logs an unexpected failure and shows the generic page.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.d.Logger.ErrorContext(r.Context(), what, "err", err.Error(), "request_id", requestID(r.Context()))
	s.errorPage(w, r, http.StatusServiceUnavailable, "Sign-in is temporarily unavailable. Please try again shortly.")
}

// authRequest is an authorization request of the hosted login: the code
// URL's (or authorize endpoint's) parameters, carried through the pages and
// checked again when the code is issued. It says which app asks and where
// to return, never who the user is.
type authRequest struct {
	ClientID, RedirectURI, State, CodeChallenge, CodeChallengeMethod, Nonce, Scope string
	ResponseType, Prompt, LoginHint                                                string
	MaxAge                                                                         int // -1 when absent
	PoolID                                                                         string
}

func (a authRequest) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"client_id": a.ClientID, "redirect_uri": a.RedirectURI, "state": a.State,
		"code_challenge": a.CodeChallenge, "code_challenge_method": a.CodeChallengeMethod, "nonce": a.Nonce, "scope": a.Scope,
		"response_type": a.ResponseType, "prompt": a.Prompt, "login_hint": a.LoginHint} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if a.MaxAge >= 0 {
		v.Set("max_age", strconv.Itoa(a.MaxAge))
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

// resumed is the request to continue with after an interactive sign-in:
// the user has just authenticated, so prompt and max_age are satisfied.
func (a authRequest) resumed() authRequest {
	a.Prompt, a.MaxAge = "", -1
	if a.ResponseType == "" {
		a.ResponseType = "code"
	}
	return a
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
// go back to the client as RFC 6749 §4.1.2.1 errors. Both entry points and
// every page of the hosted login use it.
func (s *Server) parseAuthRequest(r *http.Request, v url.Values, clientID string) (authRequest, idgate.App, *authError) {
	a := authRequest{ClientID: clientID, RedirectURI: v.Get("redirect_uri"), State: v.Get("state"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
		Nonce: v.Get("nonce"), Scope: v.Get("scope"), ResponseType: v.Get("response_type"), Prompt: v.Get("prompt"),
		LoginHint: v.Get("login_hint"), MaxAge: -1}
	if clientID == "" {
		return a, idgate.App{}, &authError{status: http.StatusBadRequest, desc: "This sign-in link is not valid: it names no application."}
	}
	app, err := s.d.Store.GetApp(r.Context(), clientID)
	if errors.Is(err, idgate.ErrNotFound) {
		return a, app, &authError{status: http.StatusNotFound, desc: "This sign-in link is not valid: the application is unknown."}
	}
	if err != nil {
		return a, app, &authError{status: http.StatusServiceUnavailable, desc: "Sign-in is temporarily unavailable. Please try again shortly."}
	}
	a.PoolID = app.PoolID
	if a.RedirectURI == "" {
		a.RedirectURI = app.CallbackURLs[0]
	}
	if !app.HasCallback(a.RedirectURI) {
		return a, app, &authError{status: http.StatusBadRequest, desc: "This sign-in link is not valid: the redirect URI is not registered for the application."}
	}
	bad := func(code, desc string) *authError {
		return &authError{status: http.StatusBadRequest, code: code, desc: desc, redirect: true}
	}
	if ma := v.Get("max_age"); ma != "" {
		n, err := strconv.Atoi(ma)
		if err != nil || n < 0 {
			return a, app, bad(idgate.CodeInvalidRequest, "max_age must be a non-negative number of seconds")
		}
		a.MaxAge = n
	}
	prompts := strings.Fields(a.Prompt)
	switch {
	case a.ResponseType != "" && a.ResponseType != "code":
		return a, app, bad(codeUnsupportedResponseType, "only response_type=code is supported")
	case len(a.State) > 1024:
		return a, app, bad(idgate.CodeInvalidRequest, "state is longer than 1024 characters")
	case len(a.Nonce) > 512:
		return a, app, bad(idgate.CodeInvalidRequest, "nonce is longer than 512 characters")
	case len(a.LoginHint) > 320:
		return a, app, bad(idgate.CodeInvalidRequest, "login_hint is longer than 320 characters")
	case slices.Contains(prompts, "none") && len(prompts) > 1:
		return a, app, bad(idgate.CodeInvalidRequest, "prompt=none cannot be combined with other values")
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

// Authorization error codes only the hosted login produces.
const (
	codeUnsupportedResponseType = "unsupported_response_type"
	codeLoginRequired           = "login_required"
)

// parsePoolRequest parses a request on a page under /{poolId}/ and checks
// that its app belongs to that pool.
func (s *Server) parsePoolRequest(r *http.Request, v url.Values) (authRequest, idgate.App, *authError) {
	a, app, aerr := s.parseAuthRequest(r, v, v.Get("client_id"))
	if aerr == nil && app.PoolID != r.PathValue("poolId") {
		aerr = &authError{status: http.StatusNotFound, desc: "This sign-in link is not valid for this user pool."}
	}
	return a, app, aerr
}

// failAuth reports an authorization request error where it belongs.
func (s *Server) failAuth(w http.ResponseWriter, r *http.Request, a authRequest, e *authError) {
	if !e.redirect {
		s.errorPage(w, r, e.status, e.desc)
		return
	}
	q := url.Values{"error": {e.code}, "error_description": {e.desc}}
	s.toCallback(w, r, a, q, http.StatusFound)
}

// toCallback sends the browser to the app's redirect URI with q, the state
// and the issuer (RFC 9207).
func (s *Server) toCallback(w http.ResponseWriter, r *http.Request, a authRequest, q url.Values, status int) {
	if a.State != "" {
		q.Set("state", a.State)
	}
	if a.PoolID != "" {
		q.Set("iss", s.d.Tokens.Issuer(a.PoolID))
	}
	http.Redirect(w, r, withQuery(a.RedirectURI, q), status)
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
	s.startAuth(w, r, r.PathValue("clientId"), "")
}

// authorize is the pool's OAuth 2.0 authorization endpoint: the code URL
// with the standard parameter names, response_type=code required.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") == "" {
		a, _, aerr := s.parseAuthRequest(r, q, q.Get("client_id"))
		if aerr == nil {
			aerr = &authError{status: http.StatusBadRequest, code: idgate.CodeInvalidRequest, desc: "response_type is required", redirect: true}
		}
		s.failAuth(w, r, a, aerr)
		return
	}
	s.startAuth(w, r, q.Get("client_id"), r.PathValue("poolId"))
}

// startAuth handles an authorization request: single sign-on when the
// browser's hosted session allows it, login_required for prompt=none
// without one, otherwise the login page.
func (s *Server) startAuth(w http.ResponseWriter, r *http.Request, clientID, poolID string) {
	a, app, aerr := s.parseAuthRequest(r, r.URL.Query(), clientID)
	if aerr == nil && poolID != "" && app.PoolID != poolID {
		aerr = &authError{status: http.StatusBadRequest, desc: "This sign-in link is not valid: the application does not belong to this user pool."}
	}
	if aerr != nil {
		s.failAuth(w, r, a, aerr)
		return
	}
	pool, err := s.d.Store.GetPool(r.Context(), app.PoolID)
	if err != nil {
		s.unavailable(w, r, "authorize: get pool", err)
		return
	}
	fresh := slices.Contains(strings.Fields(a.Prompt), "login") || a.MaxAge == 0
	if !fresh && s.hosted != nil {
		hs, user, err := s.hosted.HostedSession(r.Context(), pool, s.cookie(r, hostedCookie(pool.ID)), &app)
		switch {
		case err == nil && (a.MaxAge < 0 || s.d.Now().Sub(hs.AuthTime) <= time.Duration(a.MaxAge)*time.Second):
			actor := s.actor(r, idgate.ActorUser, user.Sub)
			if err := s.hosted.SignedInWithHostedSession(r.Context(), pool, user, app.ClientID, actor); err != nil {
				s.unavailable(w, r, "sso event", err)
				return
			}
			s.issueCode(w, r, a, app, user, hs.AuthTime, hs.AMR, http.StatusFound)
			return
		case err != nil && !errors.Is(err, account.ErrNoHostedSession):
			s.unavailable(w, r, "hosted session", err)
			return
		}
	}
	if a.Prompt == "none" {
		s.toCallback(w, r, a, url.Values{"error": {codeLoginRequired}, "error_description": {"the user is not signed in"}}, http.StatusFound)
		return
	}
	http.Redirect(w, r, "/"+app.PoolID+"/login?"+a.values().Encode(), http.StatusFound)
}

// issueCode sends the browser back to the app with a single-use code for
// the user, carrying auth_time and amr into the tokens.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, a authRequest, app idgate.App, user idgate.User, authTime time.Time, amr []string, status int) {
	actor := s.actor(r, idgate.ActorUser, user.Sub)
	code, err := s.d.Tokens.IssueCode(r.Context(), token.CodeRequest{
		App: app, User: user, RedirectURI: a.RedirectURI, CodeChallenge: a.CodeChallenge, CodeChallengeMethod: a.CodeChallengeMethod,
		Nonce: a.Nonce, Scope: a.Scope, AuthTime: authTime, AMR: amr, IP: actor.IP, UserAgent: actor.UserAgent,
	})
	if err != nil {
		s.unavailable(w, r, "issue code", err)
		return
	}
	s.toCallback(w, r, a, url.Values{"code": {code}}, status)
}

// signedIn completes an interactive sign-in: it opens the hosted session,
// remembers the device, and returns to the app (or the account page when
// the sign-in was for it).
func (s *Server) signedIn(w http.ResponseWriter, r *http.Request, pool idgate.Pool, o account.Outcome) {
	if !s.startHostedSession(w, r, pool, o) {
		return
	}
	s.clearFlow(w, pool.ID)
	v, _ := url.ParseQuery(o.Request)
	if v.Get("client_id") == "" {
		http.Redirect(w, r, "/"+pool.ID+"/account", http.StatusSeeOther)
		return
	}
	a, app, aerr := s.parseAuthRequest(r, v, v.Get("client_id"))
	if aerr == nil && app.PoolID != pool.ID {
		aerr = &authError{status: http.StatusNotFound, desc: "This sign-in link is not valid for this user pool."}
	}
	if aerr != nil {
		s.failAuth(w, r, a, aerr)
		return
	}
	s.issueCode(w, r, a, app, o.User, o.AuthTime, o.AMR, http.StatusSeeOther)
}

func (s *Server) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.ServeFileFS(w, r, assets, "assets/idgate.css")
}
