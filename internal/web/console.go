package web

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
)

// The admin console: server-rendered pages under /admin for the
// administrators of the documents. This file holds what every console page
// shares: templates, the session cookie, the guards (session, CSRF token,
// TOTP re-entry) and the error page. The pages are in console_*.go.

//go:embed console_assets
var consoleAssets embed.FS

// consoleTemplates are the console's pages, each parsed with the layout.
var consoleTemplates = func() map[string]*template.Template {
	funcs := template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"whenp": func(t *time.Time) string {
			if t == nil || t.IsZero() {
				return "—"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"join": strings.Join,
		"has":  slices.Contains[[]string, string],
	}
	m := map[string]*template.Template{}
	for _, name := range []string{"error", "enrol", "signin", "signin_mfa", "reauth", "dashboard", "admins", "projects",
		"project_new", "credentials", "project", "app", "shown_once", "users", "user", "delete", "audit", "webhooks",
		"webhook", "outbox"} {
		m[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(consoleAssets,
			"console_assets/layout.html", "console_assets/"+name+".html"))
	}
	return m
}()

// consoleCSP is the console's Content-Security-Policy: the hosted pages'
// policy plus our own script (copy buttons), nothing inline, no framing.
const consoleCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Cookie names of the console, all on path /admin.
const (
	consoleCookie       = "idgate_console"     // the session token
	consoleSignInCookie = "idgate_console_mfa" // a sign-in waiting for its TOTP code
	consolePreCookie    = "idgate_console_pre" // double-submit CSRF token of the forms before sign-in
	consoleCookiePath   = "/admin"
)

// consoleView is the data every console template gets; Data is the page's
// own.
type consoleView struct {
	Title, Error, Notice, RequestID, CSRF, AdminEmail, Nav string
	// Signed reports whether the navigation is shown (a signed-in page).
	Signed bool
	Data   any
}

// consoleHandler is a console page or action of a signed-in administrator.
type consoleHandler func(w http.ResponseWriter, r *http.Request, c *console.Current) error

// consoleRender writes a console page with the console's headers.
func (s *Server) consoleRender(w http.ResponseWriter, r *http.Request, status int, name string, v consoleView, c *console.Current) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", consoleCSP)
	if c != nil {
		v.Signed, v.CSRF, v.AdminEmail = true, c.CSRF, c.Admin.Email
	}
	v.RequestID = requestID(r.Context())
	w.WriteHeader(status)
	if err := consoleTemplates[name].ExecuteTemplate(w, "layout", v); err != nil {
		s.d.Logger.ErrorContext(r.Context(), "render console page", "page", name, "err", err.Error())
	}
}

// consoleFail turns a handler's error into the console's error page: the
// description of a client error, a generic message (logged with the
// request id) for anything else.
func (s *Server) consoleFail(w http.ResponseWriter, r *http.Request, c *console.Current, err error) {
	var e *idgate.Error
	status, msg := http.StatusInternalServerError, "Something went wrong. Quote the request id when reporting it."
	switch {
	case errors.As(err, &e):
		if st, ok := statusOf[e.Code]; ok {
			status = st
		}
		msg = e.Description
	case errors.Is(err, idgate.ErrUnavailable):
		status, msg = http.StatusServiceUnavailable, "The database is unavailable. Try again shortly."
		s.d.Logger.ErrorContext(r.Context(), "console: storage unavailable", "err", err.Error())
	default:
		s.d.Logger.ErrorContext(r.Context(), "console request failed", "method", r.Method, "path", r.URL.Path, "err", err.Error())
	}
	s.consoleRender(w, r, status, "error", consoleView{Title: "Something went wrong", Error: msg}, c)
}

func (s *Server) consoleSetCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: consoleCookiePath, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: strings.HasPrefix(s.d.PublicURL, "https://")}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

func consoleCookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

func (s *Server) consoleMeta(r *http.Request) console.Meta {
	return console.Meta{IP: s.clientIP(r), UserAgent: r.UserAgent()}
}

// consoleSession resolves the request's console session.
func (s *Server) consoleSession(r *http.Request) (*console.Current, error) {
	if s.d.Console == nil {
		return nil, console.ErrNoSession
	}
	c, err := s.d.Console.Session(r.Context(), consoleCookieValue(r, consoleCookie))
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// consolePage guards a GET page: without a session the browser is sent to
// the sign-in page, which returns here afterwards.
func (s *Server) consolePage(h consoleHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := s.consoleSession(r)
		if errors.Is(err, console.ErrNoSession) {
			s.consoleSetCookie(w, consoleCookie, "", time.Time{})
			http.Redirect(w, r, "/admin/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err != nil {
			s.consoleFail(w, r, nil, err)
			return
		}
		if err := h(w, r, c); err != nil {
			s.consoleFail(w, r, c, err)
		}
	})
}

// consoleForm guards a form post (routes.go also wraps it in the
// cross-origin protection): it needs a session and the session's CSRF
// token in the form's "csrf" field. Without them it answers 403; nothing
// changes.
func (s *Server) consoleForm(h consoleHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			s.consoleRender(w, r, http.StatusBadRequest, "error", consoleView{Title: "Bad request", Error: "The form could not be read."}, nil)
			return
		}
		c, err := s.consoleSession(r)
		if errors.Is(err, console.ErrNoSession) {
			s.consoleRender(w, r, http.StatusForbidden, "error", consoleView{Title: "Signed out",
				Error: "Your console session has ended. Sign in again; nothing was changed."}, nil)
			return
		}
		if err != nil {
			s.consoleFail(w, r, nil, err)
			return
		}
		if !c.CheckCSRF(r.PostForm.Get("csrf")) {
			s.consoleRender(w, r, http.StatusForbidden, "error", consoleView{Title: "Refused",
				Error: "This form is stale or did not come from the console. Reload the page and try again; nothing was changed."}, c)
			return
		}
		if err := h(w, r, c); err != nil {
			s.consoleFail(w, r, c, err)
		}
	})
}

// conReauthView is the "confirm it's you" page of a destructive action: the
// form posts back to the same URL with the original fields.
type conReauthView struct {
	Action string
	Fields map[string]string
}

// consoleReauth guards a destructive action (inside consoleForm): the
// administrator must have entered a TOTP code within the re-authentication
// window, or send one now in the form's "totp" field. Otherwise the page
// asks for the code and posts the action again.
func (s *Server) consoleReauth(h consoleHandler) consoleHandler {
	return func(w http.ResponseWriter, r *http.Request, c *console.Current) error {
		msg := ""
		if code := strings.TrimSpace(r.PostForm.Get("totp")); code != "" {
			err := s.d.Console.Reauthenticate(r.Context(), c, code)
			if errors.Is(err, console.ErrBadCode) {
				msg = console.ErrBadCode.Description
			} else if err != nil {
				return err
			}
		}
		if msg == "" && s.d.Console.Fresh(*c) {
			return h(w, r, c)
		}
		fields := map[string]string{}
		for k, v := range r.PostForm {
			if k != "csrf" && k != "totp" && len(v) > 0 {
				fields[k] = v[0]
			}
		}
		s.consoleRender(w, r, http.StatusForbidden, "reauth", consoleView{Title: "Confirm it's you", Error: msg,
			Data: conReauthView{Action: r.URL.Path, Fields: fields}}, c)
		return nil
	}
}

// consolePublic serves the pages before sign-in (setup, sign-in,
// invitation). Their forms carry a double-submit token: a random cookie
// value repeated in the form, which another site can neither read nor set.
func (s *Server) consolePublic(h func(w http.ResponseWriter, r *http.Request, pre string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.Console == nil {
			s.consoleRender(w, r, http.StatusNotFound, "error", consoleView{Title: "Console disabled", Error: "The admin console is not enabled on this server."}, nil)
			return
		}
		pre := consoleCookieValue(r, consolePreCookie)
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil || pre == "" || r.PostForm.Get("csrf") != pre {
				s.consoleRender(w, r, http.StatusForbidden, "error", consoleView{Title: "Refused",
					Error: "This form is stale or did not come from the console. Reload the page and try again."}, nil)
				return
			}
		} else if pre == "" || len(pre) > 100 {
			pre = idgate.NewSecret("")
			s.consoleSetCookie(w, consolePreCookie, pre, s.d.Now().Add(24*time.Hour))
		}
		if err := h(w, r, pre); err != nil {
			s.consoleFail(w, r, nil, err)
		}
	})
}

// consoleNotices are the confirmations a redirect after an action may ask
// for (?done=…); only these texts can be shown, so a link cannot put words
// on a console page.
var consoleNotices = map[string]string{
	"revoked": "The session was revoked.", "signedout": "The user was signed out everywhere.",
	"disabled": "The user was disabled and their sessions ended.", "enabled": "The user was enabled.",
	"attributes": "The attributes were saved.", "deleted": "The user was deleted for good.",
	"keyrevoked": "The API key was revoked.", "urls": "The URLs were saved.", "validity": "The token validity was saved.",
	"webhookoff": "The webhook was disabled.", "retry": "The delivery was queued again.",
}

func consoleNotice(r *http.Request) string { return consoleNotices[r.URL.Query().Get("done")] }

// consoleDone redirects after a successful action (post/redirect/get).
func consoleDone(w http.ResponseWriter, r *http.Request, path, done string) error {
	http.Redirect(w, r, path+"?done="+done, http.StatusSeeOther)
	return nil
}

// consoleStatic serves the console's stylesheet and script.
func (s *Server) consoleStatic(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, consoleAssets, "console_assets/"+name)
	}
}

// conFormInt reads a positive integer form field.
func conFormInt(r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get(name)), 10, 64)
	return n, err == nil && n > 0
}

// conFormLines splits a textarea into its non-empty trimmed lines.
func conFormLines(v string) []string {
	out := []string{}
	for _, l := range strings.Split(v, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// conErrText is the message of a client error, or "" (with ok false) for
// anything else, which the caller returns to consoleFail.
func conErrText(err error) (string, bool) {
	var e *idgate.Error
	if errors.As(err, &e) {
		return e.Description, true
	}
	return "", false
}
