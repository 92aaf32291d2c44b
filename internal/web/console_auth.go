package web

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
)

// Console pages before and around sign-in: the first administrator's
// setup, invitations, sign-in with a TOTP code, sign-out, and the list of
// administrators.

// conEnrolView is the setup and invitation page: email, password and the
// authenticator being enrolled.
type conEnrolView struct {
	Action, Token, Pre, Email string
	// EmailFixed: the invitation names the address.
	EmailFixed bool
	QR         template.URL // data: URI of the QR code's PNG
	Secret     string
	Sealed     string
	Invalid    bool // the link cannot be used: only the error is shown
}

// consoleSetup is the one-time setup page of the first administrator.
func (s *Server) consoleSetup(w http.ResponseWriter, r *http.Request, pre string) error {
	tok := r.FormValue("token")
	if err := s.d.Console.CheckSetup(r.Context(), tok); err != nil {
		return s.conEnrolPage(w, r, http.StatusForbidden, "Set up the console", conEnrolView{Invalid: true}, err)
	}
	v := conEnrolView{Action: "/admin/setup", Token: tok, Pre: pre, Email: strings.TrimSpace(r.PostFormValue("email"))}
	if r.Method == http.MethodGet {
		return s.conEnrolPage(w, r, http.StatusOK, "Set up the console", v, nil)
	}
	sess, err := s.d.Console.CompleteSetup(r.Context(), tok, console.NewAdmin{Email: v.Email, Password: r.PostFormValue("password"),
		Sealed: r.PostFormValue("sealed"), Code: r.PostFormValue("code")}, s.consoleMeta(r))
	if err != nil {
		return s.conEnrolPage(w, r, http.StatusBadRequest, "Set up the console", v, err)
	}
	return s.consoleSignedIn(w, r, sess, "/admin")
}

// consoleJoin is the invitation page of a later administrator.
func (s *Server) consoleJoin(w http.ResponseWriter, r *http.Request, pre string) error {
	tok := r.FormValue("token")
	inv, err := s.d.Console.CheckInvitation(r.Context(), tok)
	if err != nil {
		return s.conEnrolPage(w, r, http.StatusForbidden, "Join the console", conEnrolView{Invalid: true}, err)
	}
	v := conEnrolView{Action: "/admin/join", Token: tok, Pre: pre, Email: inv.Email, EmailFixed: true}
	if r.Method == http.MethodGet {
		return s.conEnrolPage(w, r, http.StatusOK, "Join the console", v, nil)
	}
	sess, err := s.d.Console.AcceptInvitation(r.Context(), tok, console.NewAdmin{Password: r.PostFormValue("password"),
		Sealed: r.PostFormValue("sealed"), Code: r.PostFormValue("code")}, s.consoleMeta(r))
	if err != nil {
		return s.conEnrolPage(w, r, http.StatusBadRequest, "Join the console", v, err)
	}
	return s.consoleSignedIn(w, r, sess, "/admin")
}

// conEnrolPage renders the setup or invitation form with a fresh
// authenticator (after an error too: the form's code was for the old one).
func (s *Server) conEnrolPage(w http.ResponseWriter, r *http.Request, status int, title string, v conEnrolView, cause error) error {
	msg := ""
	if cause != nil {
		var ok bool
		if msg, ok = conErrText(cause); !ok {
			return cause
		}
	}
	if !v.Invalid {
		en, err := s.d.Console.Enrol(v.Token, v.Email)
		if err != nil {
			return err
		}
		v.QR, v.Secret, v.Sealed = template.URL(en.QR), en.Secret, en.Sealed
	}
	s.consoleRender(w, r, status, "enrol", consoleView{Title: title, Error: msg, Data: v}, nil)
	return nil
}

// consoleSignedIn sets the session cookie and goes on.
func (s *Server) consoleSignedIn(w http.ResponseWriter, r *http.Request, sess, next string) error {
	s.consoleSetCookie(w, consoleCookie, sess, s.d.Now().Add(s.d.Console.Limits().AbsoluteTimeout))
	s.consoleSetCookie(w, consoleSignInCookie, "", time.Time{})
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// conSafeNext keeps a post-sign-in destination inside the console.
func conSafeNext(next string) string {
	if !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin"
	}
	return next
}

// conSignInView is the sign-in page (both steps).
type conSignInView struct {
	Pre, Email, Next string
	NeedsSetup       bool
}

// consoleSignIn is the first sign-in step: email and password.
func (s *Server) consoleSignIn(w http.ResponseWriter, r *http.Request, pre string) error {
	v := conSignInView{Pre: pre, Next: conSafeNext(r.FormValue("next")), Email: strings.TrimSpace(r.PostFormValue("email"))}
	if r.Method == http.MethodGet {
		need, err := s.d.Console.NeedsSetup(r.Context())
		if err != nil {
			return err
		}
		v.NeedsSetup = need
		s.consoleRender(w, r, http.StatusOK, "signin", consoleView{Title: "Sign in to the console", Data: v}, nil)
		return nil
	}
	challenge, err := s.d.Console.SignIn(r.Context(), v.Email, r.PostFormValue("password"), s.consoleMeta(r))
	if err != nil {
		msg, ok := conErrText(err)
		if !ok {
			return err
		}
		s.consoleRender(w, r, http.StatusUnauthorized, "signin", consoleView{Title: "Sign in to the console", Error: msg, Data: v}, nil)
		return nil
	}
	s.consoleSetCookie(w, consoleSignInCookie, challenge, s.d.Now().Add(s.d.Console.Limits().SignInTTL))
	s.consoleRender(w, r, http.StatusOK, "signin_mfa", consoleView{Title: "Enter your code", Data: v}, nil)
	return nil
}

// consoleSignInMFA is the second step: the TOTP code.
func (s *Server) consoleSignInMFA(w http.ResponseWriter, r *http.Request, pre string) error {
	v := conSignInView{Pre: pre, Next: conSafeNext(r.PostFormValue("next"))}
	sess, err := s.d.Console.CompleteSignIn(r.Context(), consoleCookieValue(r, consoleSignInCookie), r.PostFormValue("code"), s.consoleMeta(r))
	switch {
	case errors.Is(err, console.ErrBadCode):
		s.consoleRender(w, r, http.StatusUnauthorized, "signin_mfa", consoleView{Title: "Enter your code", Error: console.ErrBadCode.Description, Data: v}, nil)
		return nil
	case err != nil:
		msg, ok := conErrText(err)
		if !ok {
			return err
		}
		s.consoleSetCookie(w, consoleSignInCookie, "", time.Time{})
		s.consoleRender(w, r, http.StatusUnauthorized, "signin", consoleView{Title: "Sign in to the console", Error: msg, Data: v}, nil)
		return nil
	}
	return s.consoleSignedIn(w, r, sess, v.Next)
}

// consoleSignOut ends the session.
func (s *Server) consoleSignOut(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	if err := s.d.Console.SignOut(r.Context(), consoleCookieValue(r, consoleCookie)); err != nil {
		return err
	}
	s.consoleSetCookie(w, consoleCookie, "", time.Time{})
	http.Redirect(w, r, "/admin/signin", http.StatusSeeOther)
	return nil
}

// conAdminsView is the administrators page.
type conAdminsView struct {
	Admins  []idgate.Admin
	Invites []idgate.AdminToken
	Email   string
}

func (s *Server) consoleAdmins(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	return s.conAdminsPage(w, r, c, http.StatusOK, "", "")
}

func (s *Server) conAdminsPage(w http.ResponseWriter, r *http.Request, c *console.Current, status int, email, msg string) error {
	admins, err := s.d.Console.Admins(r.Context())
	if err != nil {
		return err
	}
	invites, err := s.d.Console.PendingInvitations(r.Context())
	if err != nil {
		return err
	}
	s.consoleRender(w, r, status, "admins", consoleView{Title: "Administrators", Nav: "admins", Error: msg,
		Data: conAdminsView{Admins: admins, Invites: invites, Email: email}}, c)
	return nil
}

// consoleInvite creates an invitation and shows its link once.
func (s *Server) consoleInvite(w http.ResponseWriter, r *http.Request, c *console.Current) error {
	email := r.PostFormValue("email")
	tok, exp, err := s.d.Console.Invite(r.Context(), c.Admin, email)
	if err != nil {
		msg, ok := conErrText(err)
		if !ok {
			return err
		}
		return s.conAdminsPage(w, r, c, http.StatusBadRequest, email, msg)
	}
	return s.conShownOnce(w, r, c, "Invitation created", "Send this link to "+strings.ToLower(strings.TrimSpace(email))+
		". It works once, until "+exp.UTC().Format("2006-01-02 15:04 UTC")+".",
		[]conOnceItem{{ID: "invite-link", Label: "Invitation link", Value: s.d.PublicURL + "/admin/join?token=" + tok}},
		"/admin/admins", "Back to administrators")
}

// conOnceItem is one value shown once, with a copy button.
type conOnceItem struct{ ID, Label, Value string }

// conOnceView is a page that shows new secrets once.
type conOnceView struct {
	Intro     string
	Items     []conOnceItem
	Back      string
	BackLabel string
}

// conShownOnce renders new secrets; the page is never cached.
func (s *Server) conShownOnce(w http.ResponseWriter, r *http.Request, c *console.Current, title, intro string, items []conOnceItem, back, backLabel string) error {
	nav := "projects"
	if strings.HasPrefix(back, "/admin/admins") {
		nav = "admins"
	}
	s.consoleRender(w, r, http.StatusOK, "shown_once", consoleView{Title: title, Nav: nav,
		Data: conOnceView{Intro: intro, Items: items, Back: back, BackLabel: backLabel}}, c)
	return nil
}
