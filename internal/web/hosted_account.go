package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
)

// TOTP enrolment, the optional-MFA offer, recovery codes and the account
// page (where users of an `optional` pool enrol later, replace their
// authenticator, renew recovery codes and sign out).

// zeroTime deletes a cookie when passed to setCookie.
var zeroTime time.Time

// qrDataURI renders the otpauth URI as a PNG QR code in a data: URI (the
// page's CSP allows data: images and nothing external).
func qrDataURI(uri string) (template.URL, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())), nil
}

// groupSecret writes a base32 secret in groups of four for manual entry.
func groupSecret(s string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), " ")
}

func (s *Server) enrolPage(w http.ResponseWriter, r *http.Request) {
	s.showEnrol(w, r, http.StatusOK, "")
}

// showEnrol renders the enrolment page: QR code, secret, code field.
func (s *Server) showEnrol(w http.ResponseWriter, r *http.Request, status int, msg string) {
	pc, handle, _, ok := s.flowContext(w, r, idgate.StepEnrolTOTP)
	if !ok {
		return
	}
	key, err := s.hosted.EnrolmentKey(r.Context(), pc.pool, handle)
	if err != nil {
		s.flowError(w, r, err)
		return
	}
	qr, err := qrDataURI(key.URI)
	if err != nil {
		s.unavailable(w, r, "render qr code", err)
		return
	}
	p := pc.page("Set up your authenticator app")
	p.QR, p.Secret, p.Email, p.Error = qr, groupSecret(key.Secret), key.Email, msg
	s.render(w, r, status, "enrol", p)
}

// enrol confirms the first code of the new authenticator and shows the
// recovery codes, once. The sign-in is complete by then (hosted session
// and device cookies are set); Continue resumes the authorization request.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	pc, handle, _, ok := s.flowContext(w, r, idgate.StepEnrolTOTP)
	if !ok {
		return
	}
	o, err := s.hosted.ConfirmEnrolment(r.Context(), pc.pool, handle, r.PostForm.Get("code"), s.actor(r, idgate.ActorUser, ""))
	if errors.Is(err, account.ErrTooManyAttempts) || errors.Is(err, account.ErrFlowGone) {
		s.clearFlow(w, pc.pool.ID)
		s.flowError(w, r, err)
		return
	}
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			s.showEnrol(w, r, status, msg)
		}
		return
	}
	s.clearFlow(w, pc.pool.ID)
	p := pc.page("Save your recovery codes")
	p.Codes = o.RecoveryCodes
	p.ContinueURL = template.URL("/" + pc.pool.ID + "/account")
	if pc.app.ClientID != "" {
		if !s.startHostedSession(w, r, pc.pool, o) {
			return
		}
		p.ContinueURL = template.URL("/" + pc.pool.ID + "/authorize?" + pc.a.resumed().values().Encode())
	} else if s.cookie(r, hostedCookie(pc.pool.ID)) == "" {
		if !s.startHostedSession(w, r, pc.pool, o) {
			return
		}
	}
	s.render(w, r, http.StatusOK, "recovery", p)
}

func (s *Server) offerPage(w http.ResponseWriter, r *http.Request) {
	pc, _, _, ok := s.flowContext(w, r, idgate.StepOfferMFA)
	if ok {
		s.render(w, r, http.StatusOK, "offer", pc.page("Protect your account"))
	}
}

// offer answers the optional-MFA offer made after sign-up.
func (s *Server) offer(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	pc, handle, _, ok := s.flowContext(w, r, idgate.StepOfferMFA)
	if !ok {
		return
	}
	o, err := s.hosted.ChooseMFA(r.Context(), pc.pool, handle, r.PostForm.Get("choice") == "enrol")
	if err != nil {
		s.flowError(w, r, err)
		return
	}
	s.next(w, r, pc, o)
}

// accountView is what the account page shows about the signed-in user.
type accountView struct {
	Email         string
	MFAEnrolled   bool
	MFAAllowed    bool
	RecoveryLeft  int
	SignedInSince time.Time
	// Active and History are the user's sessions; Log their security log.
	Active, History []accountSession
	Log             []accountEvent
	MinLength       int
}

// accountUser returns the signed-in user of the account page, or shows the
// sign-in link and returns false.
func (s *Server) accountUser(w http.ResponseWriter, r *http.Request) (pageCtx, idgate.User, bool) {
	pc, ok := s.pageContext(w, r, url.Values{})
	if !ok {
		return pc, idgate.User{}, false
	}
	_, u, err := s.hosted.HostedSession(r.Context(), pc.pool, s.cookie(r, hostedCookie(pc.pool.ID)), nil)
	if errors.Is(err, account.ErrNoHostedSession) {
		p := pc.page("Your account")
		p.Message = "You are not signed in."
		s.render(w, r, http.StatusOK, "account", p)
		return pc, u, false
	}
	if err != nil {
		s.unavailable(w, r, "account page", err)
		return pc, u, false
	}
	return pc, u, true
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) {
	pc, u, ok := s.accountUser(w, r)
	if !ok {
		return
	}
	left, err := s.hosted.RecoveryCodesLeft(r.Context(), pc.pool.ID, u.Sub)
	if err != nil {
		s.unavailable(w, r, "count recovery codes", err)
		return
	}
	view := &accountView{Email: u.Email, MFAEnrolled: len(u.TOTPSecret) > 0, MFAAllowed: pc.pool.MFAPolicy != idgate.MFAOff,
		RecoveryLeft: left}
	if err := s.fillAccount(r, pc, u, view); err != nil {
		s.unavailable(w, r, "account page", err)
		return
	}
	p := pc.page("Your account")
	p.Account = view
	p.Notice = accountNotices[r.URL.Query().Get("done")]
	p.Error = accountErrors[r.URL.Query().Get("error")]
	s.render(w, r, http.StatusOK, "account", p)
}

// accountMFA starts (re-)enrolment of an authenticator from the account
// page.
func (s *Server) accountMFA(w http.ResponseWriter, r *http.Request) {
	pc, u, ok := s.accountUser(w, r)
	if !ok {
		return
	}
	if pc.pool.MFAPolicy == idgate.MFAOff {
		s.errorPage(w, r, http.StatusBadRequest, "Two-step verification is turned off for this service.")
		return
	}
	o, err := s.hosted.StartEnrolment(r.Context(), pc.pool, u)
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			s.errorPage(w, r, status, msg)
		}
		return
	}
	s.next(w, r, pc, o)
}

// accountRecoveryCodes replaces the user's recovery codes and shows them.
func (s *Server) accountRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	pc, u, ok := s.accountUser(w, r)
	if !ok {
		return
	}
	codes, err := s.hosted.RenewRecoveryCodes(r.Context(), pc.pool, u, s.actor(r, idgate.ActorUser, u.Sub))
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			s.errorPage(w, r, status, msg)
		}
		return
	}
	p := pc.page("Save your recovery codes")
	p.Codes, p.ContinueURL = codes, template.URL("/"+pc.pool.ID+"/account")
	s.render(w, r, http.StatusOK, "recovery", p)
}

// accountLogout ends the browser's hosted session of the pool.
func (s *Server) accountLogout(w http.ResponseWriter, r *http.Request) {
	pc, ok := s.pageContext(w, r, url.Values{})
	if !ok {
		return
	}
	s.endHostedSession(w, r, pc.pool.ID)
	p := pc.page("Signed out")
	p.Message = "You are signed out of " + pc.name + " on this browser."
	s.render(w, r, http.StatusOK, "account", p)
}

// startHostedSession sets the hosted session and device cookies of a
// completed sign-in; false means the failure was answered.
func (s *Server) startHostedSession(w http.ResponseWriter, r *http.Request, pool idgate.Pool, o account.Outcome) bool {
	ctx := r.Context()
	tok, exp, err := s.hosted.StartHostedSession(ctx, pool, o, s.actor(r, idgate.ActorUser, o.User.Sub))
	if err != nil {
		s.unavailable(w, r, "start hosted session", err)
		return false
	}
	s.setCookie(w, hostedCookie(pool.ID), tok, "/", exp)
	device, err := s.hosted.RememberDevice(ctx, pool, o.User, s.cookie(r, deviceCookie), s.d.PublicURL+"/"+pool.ID+"/account",
		s.actor(r, idgate.ActorUser, o.User.Sub))
	if err != nil {
		s.unavailable(w, r, "remember device", err)
		return false
	}
	s.setCookie(w, deviceCookie, device, "/", s.d.Now().Add(s.hosted.Limits().DeviceTTL))
	return true
}
