package web

import (
	_ "embed"
	"net/http"
	"strings"

	"github.com/idgate/idgate/internal/idgate"
)

//go:embed openapi.json
var openAPIDoc []byte

// sessionAPI lists the session API: path → permission and handler. The
// misspelt aliases are the documents' own and stay for compatibility.
func (s *Server) sessionAPI() map[string]http.Handler {
	verify := s.keyed(idgate.PermSessionRead, s.verifyAccessToken)
	validity := s.keyed(idgate.PermAppsWrite, s.updateTokenValidity)
	return map[string]http.Handler{
		"/v2/sessionmgt/gettokenfromcode":              s.keyed(idgate.PermSessionWrite, s.getTokenFromCode),
		"/v2/sessionmgt/refreshaccesstoken":            s.keyed(idgate.PermSessionWrite, s.refreshAccessToken),
		"/v2/sessionmgt/verifyaccesstoken":             verify,
		"/v2/sessionmgt/verifyacccesstoken":            verify,
		"/v2/sessionmgt/verifyaccessoken":              verify,
		"/v2/sessionmgt/userinfofromaccesstoken":       s.keyed(idgate.PermSessionRead, s.userInfoFromAccessToken),
		"/v2/sessionmgt/revokeaccesstoken":             s.keyed(idgate.PermSessionWrite, s.revokeAccessToken),
		"/v2/sessionmgt/updatetokenvalidity":           validity,
		"/v2/sessionmgt/updateaccesstokenvaliditytime": validity,
		"/v2/sessionmgt/updateuserattribute":           s.keyed(idgate.PermUsersWrite, s.updateUserAttribute),
		"/v2/sessionmgt/deleteuser":                    s.keyed(idgate.PermUsersDelete, s.deleteUser),
	}
}

// routes lists every route of the server in one place.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Browser form posts from other sites are refused (CSRF).
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "This form was submitted from another site and was refused.")
	}))

	// Operations.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metricsHandler())
	// The HTTP ceiling for `idgate bench baseline`: the cheapest JSON
	// answer, through the same middleware as every other route.
	mux.HandleFunc("GET /bench/baseline", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(openAPIDoc)
	})

	// Session API (JSON, x-api-key).
	for path, h := range s.sessionAPI() {
		mux.Handle("POST "+path, h)
	}

	// Admin API (JSON, bearer admin token).
	mux.Handle("POST /admin/api/projects", s.admin(s.adminCreateProject))
	mux.Handle("GET /admin/api/projects", s.admin(s.adminListProjects))
	mux.Handle("POST /admin/api/projects/{projectId}/apikeys", s.admin(s.adminCreateAPIKey))
	mux.Handle("DELETE /admin/api/apikeys/{keyId}", s.admin(s.adminRevokeAPIKey))
	mux.Handle("POST /admin/api/pools/{poolId}/apps", s.admin(s.adminCreateApp))
	mux.Handle("GET /admin/api/pools/{poolId}", s.admin(s.adminGetPool))
	mux.Handle("PATCH /admin/api/pools/{poolId}", s.admin(s.adminUpdatePool))
	mux.Handle("GET /admin/api/apps/{clientId}", s.admin(s.adminGetApp))
	mux.Handle("PATCH /admin/api/apps/{clientId}", s.admin(s.adminUpdateApp))
	mux.Handle("POST /admin/api/pools/{poolId}/users", s.admin(s.adminCreateUser))
	mux.Handle("GET /admin/api/pools/{poolId}/users", s.admin(s.adminListUsers))
	mux.Handle("POST /admin/api/pools/{poolId}/keys/rotate", s.admin(s.adminRotateKeys))
	mux.Handle("GET /admin/api/pools/{poolId}/users/{sub}", s.admin(s.adminGetUser))
	mux.Handle("GET /admin/api/pools/{poolId}/users/{sub}/sessions", s.admin(s.adminUserSessions))
	mux.Handle("POST /admin/api/pools/{poolId}/users/{sub}/sessions/{sid}/revoke", s.admin(s.adminRevokeSession))
	mux.Handle("POST /admin/api/pools/{poolId}/users/{sub}/signout", s.admin(s.adminSignOutUser))
	mux.Handle("POST /admin/api/pools/{poolId}/users/{sub}/disable", s.admin(s.adminSetDisabled(true)))
	mux.Handle("POST /admin/api/pools/{poolId}/users/{sub}/enable", s.admin(s.adminSetDisabled(false)))
	mux.Handle("GET /admin/api/pools/{poolId}/users/{sub}/export", s.admin(s.adminExportUser))
	mux.Handle("GET /admin/api/projects/{projectId}/events", s.admin(s.adminListEvents))
	mux.Handle("GET /admin/api/projects/{projectId}/events/export", s.admin(s.adminExportEvents))
	mux.Handle("GET /admin/api/projects/{projectId}/events/verify", s.admin(s.adminVerifyEvents))
	mux.Handle("POST /admin/api/projects/{projectId}/webhooks", s.admin(s.adminCreateWebhook))
	mux.Handle("GET /admin/api/projects/{projectId}/webhooks", s.admin(s.adminListWebhooks))
	mux.Handle("DELETE /admin/api/webhooks/{webhookId}", s.admin(s.adminDisableWebhook))
	mux.Handle("GET /admin/api/webhooks/{webhookId}/deliveries", s.admin(s.adminWebhookDeliveries))
	mux.Handle("POST /admin/api/webhook-deliveries/{deliveryId}/retry", s.admin(s.adminRedeliver))

	// Per-pool public documents (under the issuer).
	mux.Handle("GET /{poolId}/.well-known/jwks.json", api(s.jwks))
	mux.Handle("GET /{poolId}/.well-known/openid-configuration", api(s.discovery))

	// OAuth 2.0 / OpenID Connect endpoints (form bodies, client auth,
	// RFC 6749 §5.2 errors). The authorize endpoint is in the hosted block.
	mux.Handle("POST /{poolId}/token", oauth(s.oidcToken))
	mux.Handle("GET /{poolId}/userinfo", oauth(s.oidcUserInfo))
	mux.Handle("POST /{poolId}/userinfo", oauth(s.oidcUserInfo))
	mux.Handle("POST /{poolId}/revoke", oauth(s.oidcRevoke))
	mux.Handle("POST /{poolId}/introspect", oauth(s.oidcIntrospect))
	mux.HandleFunc("GET /{poolId}/logout", s.oidcEndSession)
	mux.Handle("POST /{poolId}/logout", cop.Handler(http.HandlerFunc(s.oidcEndSession)))

	// Revocation feed (server-sent events, x-api-key with session:read).
	mux.Handle("GET /{poolId}/revocations", s.revocationFeed())

	// Hosted login (HTML forms): cross-origin POSTs are refused and form
	// posts are rate-limited per IP. The pages of each step are listed in
	// hostedPages (they serve HTML only).
	mux.HandleFunc("GET /v2/mfa/code/{clientId}", s.codeURL)
	mux.HandleFunc("GET /{poolId}/authorize", s.authorize)
	mux.HandleFunc("GET /{poolId}/login", s.loginPage)
	mux.Handle("POST /{poolId}/login", cop.Handler(s.limited(s.login)))
	for pattern, h := range s.hostedPages() {
		if strings.HasPrefix(pattern, "POST ") {
			h = cop.Handler(s.limited(h.ServeHTTP))
		}
		mux.Handle(pattern, h)
	}
	mux.HandleFunc("GET /static/idgate.css", s.stylesheet)

	// Admin console (HTML, /admin): pages need a console session (else
	// they redirect to sign-in); every POST is cross-origin protected and
	// checks the session's CSRF token; destructive ones ask for a TOTP
	// code (consoleReauth). The pages before sign-in use a double-submit
	// token instead (consolePublic).
	mux.Handle("GET /admin", s.consolePage(s.consoleDashboard))
	mux.Handle("GET /admin/setup", s.consolePublic(s.consoleSetup))
	mux.Handle("POST /admin/setup", cop.Handler(s.consolePublic(s.consoleSetup)))
	mux.Handle("GET /admin/join", s.consolePublic(s.consoleJoin))
	mux.Handle("POST /admin/join", cop.Handler(s.consolePublic(s.consoleJoin)))
	mux.Handle("GET /admin/signin", s.consolePublic(s.consoleSignIn))
	mux.Handle("POST /admin/signin", cop.Handler(s.consolePublic(s.consoleSignIn)))
	mux.Handle("POST /admin/signin/mfa", cop.Handler(s.consolePublic(s.consoleSignInMFA)))
	mux.Handle("POST /admin/signout", cop.Handler(s.consoleForm(s.consoleSignOut)))
	mux.Handle("GET /admin/admins", s.consolePage(s.consoleAdmins))
	mux.Handle("POST /admin/admins/invite", cop.Handler(s.consoleForm(s.consoleInvite)))
	mux.Handle("GET /admin/projects", s.consolePage(s.consoleProjects))
	mux.Handle("GET /admin/projects/new", s.consolePage(s.consoleNewProject))
	mux.Handle("POST /admin/projects", cop.Handler(s.consoleForm(s.consoleCreateProject)))
	mux.Handle("GET /admin/projects/{projectId}", s.consolePage(s.consoleProject))
	mux.Handle("POST /admin/projects/{projectId}/apps", cop.Handler(s.consoleForm(s.consoleCreateApp)))
	mux.Handle("POST /admin/projects/{projectId}/apikeys", cop.Handler(s.consoleForm(s.consoleCreateAPIKey)))
	mux.Handle("POST /admin/apikeys/{keyId}/revoke", cop.Handler(s.consoleForm(s.consoleReauth(s.consoleRevokeAPIKey))))
	mux.Handle("GET /admin/apps/{clientId}", s.consolePage(s.consoleApp))
	mux.Handle("POST /admin/apps/{clientId}/urls", cop.Handler(s.consoleForm(s.consoleAppURLs)))
	mux.Handle("POST /admin/apps/{clientId}/validity", cop.Handler(s.consoleForm(s.consoleAppValidity)))
	mux.Handle("POST /admin/apps/{clientId}/secret", cop.Handler(s.consoleForm(s.consoleReauth(s.consoleRotateSecret))))
	mux.Handle("GET /admin/projects/{projectId}/users", s.consolePage(s.consoleUsers))
	mux.Handle("GET /admin/pools/{poolId}/users/{sub}", s.consolePage(s.consoleUser))
	mux.Handle("POST /admin/pools/{poolId}/users/{sub}/attributes", cop.Handler(s.consoleForm(s.consoleUserAttributes)))
	mux.Handle("POST /admin/pools/{poolId}/users/{sub}/sessions/{sid}/revoke", cop.Handler(s.consoleForm(s.consoleRevokeSession)))
	mux.Handle("POST /admin/pools/{poolId}/users/{sub}/signout", cop.Handler(s.consoleForm(s.consoleSignOutUser)))
	mux.Handle("POST /admin/pools/{poolId}/users/{sub}/disable", cop.Handler(s.consoleForm(s.consoleReauth(s.consoleSetDisabled(true)))))
	mux.Handle("POST /admin/pools/{poolId}/users/{sub}/enable", cop.Handler(s.consoleForm(s.consoleSetDisabled(false))))
	mux.Handle("GET /admin/pools/{poolId}/users/{sub}/export", s.consolePage(s.consoleExportUser))
	mux.Handle("GET /admin/pools/{poolId}/users/{sub}/delete", s.consolePage(s.consoleDeleteForm))
	mux.Handle("POST /admin/pools/{poolId}/users/{sub}/delete", cop.Handler(s.consoleForm(s.consoleReauth(s.consoleDeleteUser))))
	mux.Handle("GET /admin/projects/{projectId}/audit", s.consolePage(s.consoleAudit))
	mux.Handle("GET /admin/projects/{projectId}/audit/export", s.consolePage(s.consoleAuditExport))
	mux.Handle("GET /admin/projects/{projectId}/webhooks", s.consolePage(s.consoleWebhooks))
	mux.Handle("POST /admin/projects/{projectId}/webhooks", cop.Handler(s.consoleForm(s.consoleCreateWebhook)))
	mux.Handle("GET /admin/webhooks/{webhookId}", s.consolePage(s.consoleWebhook))
	mux.Handle("POST /admin/webhooks/{webhookId}/disable", cop.Handler(s.consoleForm(s.consoleDisableWebhook)))
	mux.Handle("POST /admin/webhook-deliveries/{deliveryId}/retry", cop.Handler(s.consoleForm(s.consoleRetryDelivery)))
	mux.Handle("GET /admin/outbox", s.consolePage(s.consoleOutbox))
	mux.Handle("GET /admin/static/console.css", s.consoleStatic("console.css", "text/css; charset=utf-8"))
	mux.Handle("GET /admin/static/console.js", s.consoleStatic("console.js", "text/javascript; charset=utf-8"))

	// Anything else: JSON 404/405 for API paths, an HTML page otherwise.
	mux.HandleFunc("/", s.notFound)
	return mux
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/v2/sessionmgt/") || strings.HasPrefix(p, "/admin/api/") {
		if _, ok := s.sessionAPI()[p]; ok {
			w.Header().Set("Allow", "POST")
			writeError(w, r, &idgate.Error{Code: codeMethodNotAllowed, Description: r.Method + " is not allowed here; use POST"})
			return
		}
		writeError(w, r, idgate.NotFoundError("no such endpoint: "+p))
		return
	}
	s.errorPage(w, r, http.StatusNotFound, "This page does not exist.")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil && !s.ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	if err := s.d.Store.Ping(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
