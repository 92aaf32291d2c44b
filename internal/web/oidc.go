package web

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/token"
)

// The OAuth 2.0 / OpenID Connect endpoints of each pool, under its issuer.
// They call the same token core as the session API: one mint, one verify,
// one revocation.

// oauth adapts an OAuth endpoint: errors are written per RFC 6749 §5.2.
func oauth(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeOAuthError(w, r, err)
		}
	})
}

// basicAuthUsed marks (per request) that the client used HTTP Basic, so
// invalid_client answers carry the matching WWW-Authenticate challenge.
const basicAuthUsedHeader = "X-Idgate-Basic"

func writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var e *idgate.Error
	if !errors.As(err, &e) {
		if errors.Is(err, idgate.ErrUnavailable) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable", "error_description": "retry shortly"})
			return
		}
		slog.ErrorContext(r.Context(), "oauth request failed", "path", r.URL.Path, "err", err.Error())
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": codeServerError, "error_description": "internal error"})
		return
	}
	status := http.StatusBadRequest
	switch e.Code {
	case idgate.CodeInvalidClient:
		status = http.StatusUnauthorized
		if w.Header().Get(basicAuthUsedHeader) != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="idgate", charset="UTF-8"`)
		}
	case idgate.CodeInvalidToken:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+e.Description+`"`)
	case idgate.CodeNotFound:
		status = http.StatusNotFound
	case codeUnsupportedMedia:
		status, e = http.StatusBadRequest, idgate.InvalidRequest("Content-Type", "must be application/x-www-form-urlencoded")
	case codeTooLarge:
		status = http.StatusRequestEntityTooLarge
	}
	w.Header().Del(basicAuthUsedHeader)
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, status, map[string]string{"error": e.Code, "error_description": e.Description})
}

// parseOAuthForm reads an application/x-www-form-urlencoded body (at most
// 64 KiB). Repeated parameters are refused (RFC 6749 §3.1).
func parseOAuthForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &idgate.Error{Code: codeUnsupportedMedia}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &idgate.Error{Code: codeTooLarge, Description: "request body too large"}
		}
		return nil, idgate.InvalidRequest("body", "is not a valid form")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, idgate.InvalidRequest(k, "must not be repeated")
		}
	}
	return r.PostForm, nil
}

// clientCredentials extracts the client's id and secret from HTTP Basic
// (client_secret_basic) or the form (client_secret_post, or none with only
// client_id); using both methods at once is refused.
func clientCredentials(w http.ResponseWriter, r *http.Request, f url.Values) (id, secret string, err error) {
	bid, bsecret, basic := r.BasicAuth()
	if basic {
		w.Header().Set(basicAuthUsedHeader, "1")
		if f.Get("client_secret") != "" {
			return "", "", idgate.InvalidRequest("client_secret", "use one client authentication method, not two")
		}
		if id, err = url.QueryUnescape(bid); err == nil {
			secret, err = url.QueryUnescape(bsecret)
		}
		if err != nil || id == "" {
			return "", "", idgate.InvalidClient("malformed HTTP Basic credentials")
		}
		if fid := f.Get("client_id"); fid != "" && fid != id {
			return "", "", idgate.InvalidRequest("client_id", "does not match the authenticated client")
		}
		return id, secret, nil
	}
	id, secret = f.Get("client_id"), f.Get("client_secret")
	if id == "" {
		return "", "", idgate.InvalidClient("client authentication is required (client_secret_basic, client_secret_post, or client_id for public clients)")
	}
	return id, secret, nil
}

func (s *Server) oauthActor(r *http.Request, clientID string) idgate.Actor {
	return s.actor(r, "client", clientID)
}

// oauthCall is an authenticated request to a form endpoint of a pool.
type oauthCall struct {
	pool       idgate.Pool
	app        idgate.App
	form       url.Values
	id, secret string
}

// oauthClient reads the pool, the form and the client authentication that
// the token, revocation and introspection endpoints share.
func (s *Server) oauthClient(w http.ResponseWriter, r *http.Request) (oauthCall, error) {
	pool, err := s.pool(r)
	if err != nil {
		return oauthCall{}, err
	}
	f, err := parseOAuthForm(w, r)
	if err != nil {
		return oauthCall{}, err
	}
	id, sec, err := clientCredentials(w, r, f)
	if err != nil {
		return oauthCall{}, err
	}
	app, err := s.d.Tokens.AuthenticateClient(r.Context(), pool.ID, id, sec)
	if err != nil {
		return oauthCall{}, err
	}
	return oauthCall{pool: pool, app: app, form: f, id: id, secret: sec}, nil
}

// oidcToken is the token endpoint: authorization_code, refresh_token and
// client_credentials grants.
func (s *Server) oidcToken(w http.ResponseWriter, r *http.Request) error {
	c, err := s.oauthClient(w, r)
	if err != nil {
		return err
	}
	pool, app, f, id, sec := c.pool, c.app, c.form, c.id, c.secret
	actor := s.oauthActor(r, app.ClientID)
	var resp token.Response
	switch g := f.Get("grant_type"); g {
	case "authorization_code":
		resp, err = s.d.Tokens.ExchangeCode(r.Context(), token.ExchangeRequest{PoolID: pool.ID, Code: f.Get("code"),
			ClientID: id, ClientSecret: sec, RedirectURI: f.Get("redirect_uri"), CodeVerifier: f.Get("code_verifier"), Actor: actor})
	case "refresh_token":
		resp, err = s.d.Tokens.Refresh(r.Context(), token.RefreshRequest{PoolID: pool.ID, RefreshToken: f.Get("refresh_token"),
			ClientID: id, ClientSecret: sec, Actor: actor})
	case "client_credentials":
		resp, err = s.d.Tokens.ClientCredentials(r.Context(), app, f.Get("scope"), actor)
	case "":
		return idgate.InvalidRequest("grant_type", "is required")
	default:
		return &idgate.Error{Code: idgate.CodeUnsupportedGrantType, Description: "grant_type " + g + " is not supported"}
	}
	if err != nil {
		return err
	}
	w.Header().Del(basicAuthUsedHeader)
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// scopeClaims are the standard claims each OIDC scope releases at the
// userinfo endpoint (OpenID Connect Core §5.4).
var scopeClaims = map[string][]string{
	"email":   {"email", "email_verified"},
	"phone":   {"phone_number", "phone_number_verified"},
	"address": {"address"},
	"profile": {"name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "picture",
		"website", "gender", "birthdate", "zoneinfo", "locale", "updated_at"},
}

// oidcUserInfo answers with the claims the access token's scopes release,
// plus sub, username and the RBAC lists.
func (s *Server) oidcUserInfo(w http.ResponseWriter, r *http.Request) error {
	pool, err := s.pool(r)
	if err != nil {
		return err
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok && r.Method == http.MethodPost {
		f, err := parseOAuthForm(w, r)
		if err != nil {
			return err
		}
		raw = f.Get("access_token")
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+s.d.Tokens.Issuer(pool.ID)+`"`)
		return idgate.InvalidToken("an access token is required (Authorization: Bearer)")
	}
	v, err := s.d.Tokens.Verify(r.Context(), pool.ID, raw)
	if err != nil {
		return err
	}
	if !v.Active || v.Claims.TokenUse != token.UseAccess {
		return idgate.InvalidToken("the access token is not active")
	}
	all, err := s.d.Tokens.UserInfo(r.Context(), pool.ID, raw)
	if err != nil {
		return err
	}
	out := map[string]any{"sub": all["sub"], "username": all["username"]}
	for _, k := range []string{"roles", "groups", "actions", "attributes"} {
		out[k] = all[k]
	}
	for _, sc := range strings.Fields(v.Claims.Scope) {
		for _, k := range scopeClaims[sc] {
			if val, ok := all[k]; ok {
				out[k] = val
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// oidcRevoke is RFC 7009 token revocation.
func (s *Server) oidcRevoke(w http.ResponseWriter, r *http.Request) error {
	c, err := s.oauthClient(w, r)
	if err != nil {
		return err
	}
	if err := s.d.Tokens.RevokeToken(r.Context(), c.app, c.form.Get("token"), c.form.Get("token_type_hint"), s.oauthActor(r, c.app.ClientID)); err != nil {
		return err
	}
	w.Header().Del(basicAuthUsedHeader)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// oidcIntrospect is RFC 7662 token introspection, for confidential clients
// of the pool (resource servers register as web apps).
func (s *Server) oidcIntrospect(w http.ResponseWriter, r *http.Request) error {
	c, err := s.oauthClient(w, r)
	if err != nil {
		return err
	}
	if !c.app.Type.Confidential() {
		return idgate.InvalidClient("introspection requires a confidential client")
	}
	res, err := s.d.Tokens.Introspect(r.Context(), c.pool.ID, c.form.Get("token"), c.form.Get("token_type_hint"))
	if err != nil {
		return err
	}
	w.Header().Del(basicAuthUsedHeader)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// oidcEndSession is OpenID Connect RP-Initiated Logout 1.0.
func (s *Server) oidcEndSession(w http.ResponseWriter, r *http.Request) {
	pool, err := s.pool(r)
	if err != nil {
		s.errorPage(w, r, http.StatusNotFound, "This sign-out link is not valid.")
		return
	}
	v := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "The sign-out form could not be read.")
			return
		}
		v = r.Form
	}
	var claims token.Claims
	clientID := v.Get("client_id")
	if hint := v.Get("id_token_hint"); hint != "" {
		claims, err = s.d.Tokens.IDTokenHint(r.Context(), pool.ID, hint)
		if err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "This sign-out link is not valid: the ID token hint was not issued here.")
			return
		}
		aud := ""
		if len(claims.Audience) > 0 {
			aud = claims.Audience[0]
		}
		if clientID != "" && clientID != aud {
			s.errorPage(w, r, http.StatusBadRequest, "This sign-out link is not valid: client_id does not match the ID token.")
			return
		}
		clientID = aud
	}
	redirect := v.Get("post_logout_redirect_uri")
	if redirect != "" {
		app, err := s.d.Store.GetApp(r.Context(), clientID)
		if clientID == "" || err != nil || app.PoolID != pool.ID || !slices.Contains(app.LogoutURLs, redirect) {
			s.errorPage(w, r, http.StatusBadRequest, "This sign-out link is not valid: the return address is not registered for the application.")
			return
		}
	}
	if claims.SID != "" {
		err := s.d.Tokens.EndSession(r.Context(), pool.ID, claims.SID, claims.Subject, clientID, idgate.EndLogout,
			idgate.EventSessionRevoked, s.actor(r, idgate.ActorUser, claims.Subject))
		if err != nil {
			s.d.Logger.ErrorContext(r.Context(), "end session", "err", err.Error())
			s.errorPage(w, r, http.StatusServiceUnavailable, "Signing out is temporarily unavailable. Please try again shortly.")
			return
		}
	}
	if s.d.EndHostedSession != nil {
		s.d.EndHostedSession(w, r, pool.ID)
	}
	if redirect != "" {
		q := url.Values{}
		if st := v.Get("state"); st != "" {
			q.Set("state", st)
		}
		target := redirect
		if len(q) > 0 {
			target = withQuery(redirect, q)
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	s.render(w, r, http.StatusOK, "error", page{Title: "Signed out", Message: "You are signed out. You can close this window.", RequestID: requestID(r.Context())})
}
