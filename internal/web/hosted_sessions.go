package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/token"
)

// The account page's sessions, security log, password change and data
// download (SPEC §5).

// accountSession is one session row of the account page.
type accountSession struct {
	ID, Device, IP, App, Reason string
	SignedIn, LastSeen, Ended   time.Time
	ThisDevice                  bool
}

// accountEvent is one row of the security log.
type accountEvent struct {
	At          time.Time
	What, IP    string
	Device, App string
}

// eventLabels are the security log's words for event types.
var eventLabels = map[string]string{
	idgate.EventLoginSucceeded: "Signed in", idgate.EventLoginFailed: "Failed sign-in", idgate.EventMFAFailed: "Wrong verification code",
	idgate.EventLockout: "Sign-in locked after failures", idgate.EventNewDevice: "Sign-in from a new device",
	idgate.EventMFAEnrolled: "Authenticator app set up", idgate.EventRecoveryCodeUsed: "Recovery code used",
	idgate.EventRecoveryCodesRenewed: "New recovery codes", idgate.EventPasswordReset: "Password reset",
	idgate.EventPasswordChanged: "Password changed", idgate.EventSessionRevoked: "Session ended",
	idgate.EventGlobalSignOut: "Signed out everywhere", idgate.EventRefreshReuse: "Session ended: token reuse detected",
	idgate.EventAttributesUpdated: "Profile updated", idgate.EventSignUp: "Account created", idgate.EventEmailVerified: "Email verified",
	idgate.EventTokenIssued: "Signed in to an app", idgate.EventUserDisabled: "Account disabled", idgate.EventUserEnabled: "Account enabled",
}

var accountNotices = map[string]string{
	"ended":    "That session is signed out.",
	"others":   "All your other sessions are signed out.",
	"password": "Your password is changed. Your other sessions are signed out.",
}

var accountErrors = map[string]string{
	"password-current": "The current password is not correct.",
	"password-policy":  "The new password does not meet the requirements.",
}

// thisDevice tells whether a session was started from the browser viewing
// the page: same user agent and address (sessions do not carry the
// device cookie, so this is the best match available).
func (s *Server) thisDevice(r *http.Request) func(idgate.Session) bool {
	ua, ip := r.UserAgent(), s.clientIP(r)
	return func(se idgate.Session) bool { return se.UserAgent == ua && se.IP == ip }
}

func (s *Server) fillAccount(r *http.Request, pc pageCtx, u idgate.User, v *accountView) error {
	ctx := r.Context()
	list, err := s.d.Store.ListSessions(ctx, pc.pool.ID, u.Sub)
	if err != nil {
		return err
	}
	names := map[string]string{}
	appName := func(clientID string) string {
		if n, ok := names[clientID]; ok {
			return n
		}
		n := clientID
		if a, err := s.d.Store.GetApp(ctx, clientID); err == nil {
			n = a.Name
		}
		names[clientID] = n
		return n
	}
	now, mine := s.d.Now(), s.thisDevice(r)
	for _, se := range list {
		sv := account.ViewSession(se, now)
		row := accountSession{ID: se.ID, Device: sv.Device, IP: se.IP, App: appName(se.ClientID), SignedIn: se.CreatedAt,
			LastSeen: se.LastSeenAt, ThisDevice: mine(se), Reason: sv.EndReason}
		if sv.Active {
			v.Active = append(v.Active, row)
		} else if len(v.History) < 20 {
			row.Ended = *sv.EndedAt
			v.History = append(v.History, row)
		}
	}
	evs, err := s.d.Accounts.SecurityLog(ctx, pc.pool, u.Sub, 30)
	if err != nil {
		return err
	}
	for _, e := range evs {
		label, ok := eventLabels[e.Type]
		if !ok {
			label = e.Type
		}
		v.Log = append(v.Log, accountEvent{At: e.CreatedAt, What: label, IP: e.IP, Device: account.DescribeUserAgent(e.UserAgent), App: e.ClientID})
	}
	v.MinLength = pc.pool.PasswordMinLength
	return nil
}

// accountRedirect sends the browser back to the account page with a
// notice or error key.
func accountRedirect(w http.ResponseWriter, r *http.Request, poolID, key, value string) {
	http.Redirect(w, r, "/"+poolID+"/account?"+url.Values{key: {value}}.Encode(), http.StatusSeeOther)
}

func (s *Server) hostedHash(r *http.Request, poolID string) string {
	return secret.Digest(s.cookie(r, hostedCookie(poolID)))
}

// accountEndSession signs out one of the user's sessions.
func (s *Server) accountEndSession(w http.ResponseWriter, r *http.Request) {
	pc, u, ok := s.accountUser(w, r)
	if !ok {
		return
	}
	err := s.d.Accounts.RevokeSession(r.Context(), pc.pool.ID, u.Sub, r.PathValue("sid"), idgate.EndLogout, s.actor(r, idgate.ActorUser, u.Sub))
	var ie *idgate.Error
	if errors.As(err, &ie) && ie.Code == idgate.CodeNotFound {
		s.errorPage(w, r, http.StatusNotFound, "That session is not one of yours.")
		return
	}
	if err != nil {
		s.unavailable(w, r, "end session", err)
		return
	}
	accountRedirect(w, r, pc.pool.ID, "done", "ended")
}

// accountEndOthers signs out every session but this device's.
func (s *Server) accountEndOthers(w http.ResponseWriter, r *http.Request) {
	pc, u, ok := s.accountUser(w, r)
	if !ok {
		return
	}
	if _, err := s.d.Accounts.EndOtherSessions(r.Context(), pc.pool, u.Sub, s.hostedHash(r, pc.pool.ID), s.thisDevice(r),
		s.actor(r, idgate.ActorUser, u.Sub)); err != nil {
		s.unavailable(w, r, "end other sessions", err)
		return
	}
	accountRedirect(w, r, pc.pool.ID, "done", "others")
}

// accountPassword changes the password; other sessions end.
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	pc, u, ok := s.accountUser(w, r)
	if !ok {
		return
	}
	f := r.PostForm
	if f.Get("new") != f.Get("confirm") {
		accountRedirect(w, r, pc.pool.ID, "error", "password-policy")
		return
	}
	_, err := s.d.Accounts.ChangePassword(r.Context(), pc.pool, u, f.Get("current"), f.Get("new"), s.hostedHash(r, pc.pool.ID),
		s.thisDevice(r), s.actor(r, idgate.ActorUser, u.Sub))
	var ie *idgate.Error
	switch {
	case errors.Is(err, account.ErrWrongPassword):
		accountRedirect(w, r, pc.pool.ID, "error", "password-current")
	case errors.As(err, &ie):
		accountRedirect(w, r, pc.pool.ID, "error", "password-policy")
	case err != nil:
		s.unavailable(w, r, "change password", err)
	default:
		accountRedirect(w, r, pc.pool.ID, "done", "password")
	}
}

// accountExport downloads everything stored about the user as JSON.
func (s *Server) accountExport(w http.ResponseWriter, r *http.Request) {
	pc, u, ok := s.accountUser(w, r)
	if !ok {
		return
	}
	exp, err := s.d.Accounts.ExportUser(context.WithoutCancel(r.Context()), pc.pool.ID, u.Sub, token.UserClaims)
	if err != nil {
		s.unavailable(w, r, "export data", err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="my-data.json"`)
	writeJSON(w, http.StatusOK, exp)
}
