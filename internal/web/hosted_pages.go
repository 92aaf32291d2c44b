package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
)

// The pages of the hosted login, one step each: sign-in (password, then
// MFA), sign-up (email code, then MFA enrolment or its offer), password
// reset. Who the person is never travels in a form: after the first step
// it is in the server-side flow named by the flow cookie.

// pageCtx is what every hosted page works with: the pool, the app (zero
// when the sign-in is for the account page) and the authorization request.
type pageCtx struct {
	pool idgate.Pool
	app  idgate.App
	a    authRequest
	name string // what the user is signing in to
}

// urls returns the links between the pages of this request.
func (pc pageCtx) page(title string) page {
	q := pc.a.values().Encode()
	link := func(path string) template.URL {
		u := "/" + pc.pool.ID + path
		if q != "" {
			u += "?" + q
		}
		return template.URL(u)
	}
	return page{Title: title, AppName: pc.name, PoolID: pc.pool.ID, Hidden: pc.a.hidden(),
		LoginURL: link("/login"), SignupURL: link("/signup"), ForgotURL: link("/password/forgot"),
		MinLength: max(pc.pool.PasswordMinLength, 12)}
}

// pageContext validates the request of a page under /{poolId}/. Without a
// client_id the sign-in is for the pool's account page.
func (s *Server) pageContext(w http.ResponseWriter, r *http.Request, v url.Values) (pageCtx, bool) {
	var pc pageCtx
	if s.hosted == nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Sign-in is not available on this server.")
		return pc, false
	}
	poolID := r.PathValue("poolId")
	if v.Get("client_id") != "" {
		a, app, aerr := s.parsePoolRequest(r, v)
		if aerr != nil {
			s.failAuth(w, r, a, aerr)
			return pc, false
		}
		pc.a, pc.app, pc.name = a, app, app.Name
	} else {
		pc.a = authRequest{PoolID: poolID, LoginHint: v.Get("login_hint"), MaxAge: -1}
		if len(pc.a.LoginHint) > 320 {
			pc.a.LoginHint = ""
		}
	}
	pool, err := s.d.Store.GetPool(r.Context(), poolID)
	if errors.Is(err, idgate.ErrNotFound) {
		s.errorPage(w, r, http.StatusNotFound, "This page does not exist.")
		return pc, false
	}
	if err != nil {
		s.unavailable(w, r, "get pool", err)
		return pc, false
	}
	pc.pool = pool
	if pc.name == "" {
		if p, err := s.d.Store.GetProject(r.Context(), pool.ProjectID); err == nil {
			pc.name = p.Name
		}
	}
	return pc, true
}

// flowContext loads the flow of the cookie at one of steps and the page
// context of its request.
func (s *Server) flowContext(w http.ResponseWriter, r *http.Request, steps ...string) (pageCtx, string, string, bool) {
	if s.hosted == nil {
		s.errorPage(w, r, http.StatusServiceUnavailable, "Sign-in is not available on this server.")
		return pageCtx{}, "", "", false
	}
	handle := s.cookie(r, flowCookie)
	step, email, request, err := s.hosted.FlowStep(r.Context(), r.PathValue("poolId"), handle)
	if err == nil && !slices.Contains(steps, step) {
		err = account.ErrFlowGone
	}
	if err != nil {
		s.flowError(w, r, err)
		return pageCtx{}, "", "", false
	}
	v, _ := url.ParseQuery(request)
	pc, ok := s.pageContext(w, r, v)
	return pc, handle, email, ok
}

// flowError shows why a flow cannot go on.
func (s *Server) flowError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *idgate.Error
	if errors.As(err, &ie) {
		s.errorPage(w, r, http.StatusBadRequest, ie.Description+" Go back to the application and sign in again.")
		return
	}
	s.unavailable(w, r, "hosted flow", err)
}

// userMessage turns a use-case error into what the page shows and its
// status; ok is false for an unexpected failure (already answered).
func (s *Server) userMessage(w http.ResponseWriter, r *http.Request, err error) (string, int, bool) {
	var we *account.WaitError
	if errors.As(err, &we) {
		w.Header().Set("Retry-After", strconv.Itoa(int(we.Wait.Seconds())))
		return we.Description, http.StatusTooManyRequests, true
	}
	var ie *idgate.Error
	if errors.As(err, &ie) {
		status := http.StatusBadRequest
		switch ie.Code {
		case idgate.CodeInvalidGrant:
			status = http.StatusUnauthorized
		case idgate.CodeConflict:
			status = http.StatusConflict
		case idgate.CodeUnavailable:
			status = http.StatusServiceUnavailable
		}
		return sentence(ie), status, true
	}
	s.unavailable(w, r, "hosted step", err)
	return "", 0, false
}

// sentence makes a field error readable: "password: must be …" becomes
// "Password must be …."
func sentence(e *idgate.Error) string {
	d := e.Description
	if e.Field != "" && strings.HasPrefix(d, e.Field+": ") {
		d = strings.TrimPrefix(d, e.Field+": ")
		d = e.Field + " " + d
		if e.Field == "password" || e.Field == "email" {
			r := []rune(d)
			r[0] = unicode.ToUpper(r[0])
			d = string(r)
		}
	}
	if !strings.HasSuffix(d, ".") {
		d += "."
	}
	return d
}

// readForm parses a hosted form post (at most 64 KiB).
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

// next sends the browser to the page of a flow's step.
func (s *Server) next(w http.ResponseWriter, r *http.Request, pc pageCtx, o account.Outcome) {
	if o.Done() {
		s.signedIn(w, r, pc.pool, o)
		return
	}
	s.setFlow(w, pc.pool.ID, o.Handle)
	path := map[string]string{
		idgate.StepMFA: "/login/mfa", idgate.StepEnrolTOTP: "/mfa/setup", idgate.StepOfferMFA: "/mfa/offer",
		idgate.StepVerifyEmail: "/signup/verify", idgate.StepResetCode: "/password/reset",
	}[o.Step]
	http.Redirect(w, r, "/"+pc.pool.ID+path, http.StatusSeeOther)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	pc, ok := s.pageContext(w, r, r.URL.Query())
	if !ok {
		return
	}
	p := pc.page("Sign in")
	p.Email = pc.a.LoginHint
	if r.URL.Query().Get("reset") == "done" {
		p.Notice = "Your password was changed and you were signed out everywhere. Sign in with the new password."
	}
	s.render(w, r, http.StatusOK, "login", p)
}

// login checks the email and password: the sign-in completes, or goes on
// to the MFA step (or enrolment when the pool requires MFA).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	f := r.PostForm
	pc, ok := s.pageContext(w, r, f)
	if !ok {
		return
	}
	email, password := strings.TrimSpace(f.Get("email")), f.Get("password")
	show := func(status int, msg string) {
		p := pc.page("Sign in")
		p.Email, p.Error = email, msg
		s.render(w, r, status, "login", p)
	}
	if email == "" || password == "" {
		show(http.StatusBadRequest, "Enter your email and password.")
		return
	}
	o, err := s.hosted.SignIn(r.Context(), pc.pool, email, password, s.cookie(r, deviceCookie), pc.a.values().Encode(),
		s.actor(r, idgate.ActorUser, ""))
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			if errors.Is(err, account.ErrBadCredentials) {
				msg = account.ErrBadCredentials.Description + "."
			}
			show(status, msg)
		}
		return
	}
	s.next(w, r, pc, o)
}

func (s *Server) mfaPage(w http.ResponseWriter, r *http.Request) {
	pc, _, _, ok := s.flowContext(w, r, idgate.StepMFA)
	if ok {
		s.render(w, r, http.StatusOK, "mfa", pc.page("Two-step verification"))
	}
}

// mfa checks the TOTP or recovery code of a sign-in.
func (s *Server) mfa(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	pc, handle, _, ok := s.flowContext(w, r, idgate.StepMFA)
	if !ok {
		return
	}
	code := r.PostForm.Get("code")
	if code == "" {
		code = r.PostForm.Get("recovery_code")
	}
	o, err := s.hosted.VerifyMFA(r.Context(), pc.pool, handle, code, s.cookie(r, deviceCookie), s.actor(r, idgate.ActorUser, ""))
	if errors.Is(err, account.ErrTooManyAttempts) || errors.Is(err, account.ErrFlowGone) {
		s.clearFlow(w, pc.pool.ID)
		s.flowError(w, r, err)
		return
	}
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			p := pc.page("Two-step verification")
			p.Error = msg
			s.render(w, r, status, "mfa", p)
		}
		return
	}
	s.next(w, r, pc, o)
}

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) {
	pc, ok := s.pageContext(w, r, r.URL.Query())
	if !ok {
		return
	}
	p := pc.page("Create your account")
	p.Email = pc.a.LoginHint
	s.render(w, r, http.StatusOK, "signup", p)
}

// signup checks the email and password policy and emails the code.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	f := r.PostForm
	pc, ok := s.pageContext(w, r, f)
	if !ok {
		return
	}
	email := strings.TrimSpace(f.Get("email"))
	show := func(status int, msg string) {
		p := pc.page("Create your account")
		p.Email, p.Error = email, msg
		s.render(w, r, status, "signup", p)
	}
	if f.Get("password") != f.Get("password_confirm") {
		show(http.StatusBadRequest, "The two passwords do not match.")
		return
	}
	o, err := s.hosted.StartSignUp(r.Context(), pc.pool, email, f.Get("password"), pc.a.values().Encode(), s.actor(r, idgate.ActorUser, ""))
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			show(status, msg)
		}
		return
	}
	s.next(w, r, pc, o)
}

func (s *Server) verifyPage(w http.ResponseWriter, r *http.Request) {
	s.codePage(w, r, idgate.StepVerifyEmail, "verify", "Check your email", http.StatusOK, "")
}

// codePage shows the page of a flow waiting for an emailed code.
func (s *Server) codePage(w http.ResponseWriter, r *http.Request, step, tmpl, title string, status int, msg string) {
	pc, _, email, ok := s.flowContext(w, r, step)
	if !ok {
		return
	}
	p := pc.page(title)
	p.Email, p.Error = email, msg
	if msg == "" && r.URL.Query().Get("sent") == "1" {
		p.Notice = "We sent a new code."
	}
	s.render(w, r, status, tmpl, p)
}

// verify checks the sign-up's emailed code.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	pc, handle, _, ok := s.flowContext(w, r, idgate.StepVerifyEmail)
	if !ok {
		return
	}
	o, err := s.hosted.VerifyEmail(r.Context(), pc.pool, handle, r.PostForm.Get("code"), s.actor(r, idgate.ActorUser, ""))
	if errors.Is(err, account.ErrTooManyAttempts) || errors.Is(err, account.ErrEmailTaken) {
		s.clearFlow(w, pc.pool.ID)
		p := pc.page("Create your account")
		p.Error = sentence(err.(*idgate.Error))
		s.render(w, r, http.StatusBadRequest, "signup", p)
		return
	}
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			s.codePage(w, r, idgate.StepVerifyEmail, "verify", "Check your email", status, msg)
		}
		return
	}
	s.next(w, r, pc, o)
}

// resend emails a new code for the flow (sign-up or reset).
func (s *Server) resend(w http.ResponseWriter, r *http.Request) {
	pc, handle, _, ok := s.flowContext(w, r, idgate.StepVerifyEmail, idgate.StepResetCode)
	if !ok {
		return
	}
	step, tmpl, title, path := idgate.StepVerifyEmail, "verify", "Check your email", "/signup/verify"
	if r.PathValue("kind") == "reset" {
		step, tmpl, title, path = idgate.StepResetCode, "reset", "Choose a new password", "/password/reset"
	}
	err := s.hosted.ResendCode(r.Context(), pc.pool, handle, s.actor(r, idgate.ActorUser, ""))
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			s.codePage(w, r, step, tmpl, title, status, msg)
		}
		return
	}
	http.Redirect(w, r, "/"+pc.pool.ID+path+"?sent=1", http.StatusSeeOther)
}

func (s *Server) forgotPage(w http.ResponseWriter, r *http.Request) {
	pc, ok := s.pageContext(w, r, r.URL.Query())
	if !ok {
		return
	}
	p := pc.page("Reset your password")
	p.Email = pc.a.LoginHint
	s.render(w, r, http.StatusOK, "forgot", p)
}

// forgot starts a password reset (the same answer for any address).
func (s *Server) forgot(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	pc, ok := s.pageContext(w, r, r.PostForm)
	if !ok {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	o, err := s.hosted.StartReset(r.Context(), pc.pool, email, pc.a.values().Encode(), s.actor(r, idgate.ActorUser, ""))
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			p := pc.page("Reset your password")
			p.Email, p.Error = email, msg
			s.render(w, r, status, "forgot", p)
		}
		return
	}
	s.next(w, r, pc, o)
}

func (s *Server) resetPage(w http.ResponseWriter, r *http.Request) {
	s.codePage(w, r, idgate.StepResetCode, "reset", "Choose a new password", http.StatusOK, "")
}

// reset checks the emailed code and sets the new password; every session
// of the user ends. The browser returns to the sign-in page.
func (s *Server) reset(w http.ResponseWriter, r *http.Request) {
	if !s.readForm(w, r) {
		return
	}
	f := r.PostForm
	pc, handle, _, ok := s.flowContext(w, r, idgate.StepResetCode)
	if !ok {
		return
	}
	fail := func(status int, msg string) {
		s.codePage(w, r, idgate.StepResetCode, "reset", "Choose a new password", status, msg)
	}
	if f.Get("password") != f.Get("password_confirm") {
		fail(http.StatusBadRequest, "The two passwords do not match.")
		return
	}
	res, err := s.hosted.CompleteReset(r.Context(), pc.pool, handle, f.Get("code"), f.Get("password"), s.actor(r, idgate.ActorUser, ""))
	if errors.Is(err, account.ErrTooManyAttempts) || errors.Is(err, account.ErrFlowGone) {
		s.clearFlow(w, pc.pool.ID)
		s.flowError(w, r, err)
		return
	}
	if err != nil {
		if msg, status, ok := s.userMessage(w, r, err); ok {
			fail(status, msg)
		}
		return
	}
	s.clearFlow(w, pc.pool.ID)
	s.setCookie(w, hostedCookie(pc.pool.ID), "", "/", zeroTime)
	q, _ := url.ParseQuery(res.Request)
	q.Set("login_hint", res.Email)
	q.Set("reset", "done")
	http.Redirect(w, r, "/"+pc.pool.ID+"/login?"+q.Encode(), http.StatusSeeOther)
}

// hostedPages lists the pages of the hosted login's steps (beyond the
// entry points and the sign-in form, registered in routes.go): pattern →
// handler. Every POST is wrapped in CSRF protection and the rate limit.
func (s *Server) hostedPages() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /{poolId}/login/mfa":                    http.HandlerFunc(s.mfaPage),
		"POST /{poolId}/login/mfa":                   http.HandlerFunc(s.mfa),
		"GET /{poolId}/signup":                       http.HandlerFunc(s.signupPage),
		"POST /{poolId}/signup":                      http.HandlerFunc(s.signup),
		"GET /{poolId}/signup/verify":                http.HandlerFunc(s.verifyPage),
		"POST /{poolId}/signup/verify":               http.HandlerFunc(s.verify),
		"POST /{poolId}/code/resend/{kind}":          http.HandlerFunc(s.resend),
		"GET /{poolId}/mfa/setup":                    http.HandlerFunc(s.enrolPage),
		"POST /{poolId}/mfa/setup":                   http.HandlerFunc(s.enrol),
		"GET /{poolId}/mfa/offer":                    http.HandlerFunc(s.offerPage),
		"POST /{poolId}/mfa/offer":                   http.HandlerFunc(s.offer),
		"GET /{poolId}/password/forgot":              http.HandlerFunc(s.forgotPage),
		"POST /{poolId}/password/forgot":             http.HandlerFunc(s.forgot),
		"GET /{poolId}/password/reset":               http.HandlerFunc(s.resetPage),
		"POST /{poolId}/password/reset":              http.HandlerFunc(s.reset),
		"GET /{poolId}/account":                      http.HandlerFunc(s.accountPage),
		"POST /{poolId}/account/mfa":                 http.HandlerFunc(s.accountMFA),
		"POST /{poolId}/account/recovery-codes":      http.HandlerFunc(s.accountRecoveryCodes),
		"POST /{poolId}/account/logout":              http.HandlerFunc(s.accountLogout),
		"POST /{poolId}/account/sessions/{sid}/end":  http.HandlerFunc(s.accountEndSession),
		"POST /{poolId}/account/sessions/end-others": http.HandlerFunc(s.accountEndOthers),
		"POST /{poolId}/account/password":            http.HandlerFunc(s.accountPassword),
		"GET /{poolId}/account/export":               http.HandlerFunc(s.accountExport),
	}
}
