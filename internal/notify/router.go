package notify

import "context"

// SandboxFunc reports whether projectID belongs to a sandbox project. It
// must fail closed: when it cannot tell (the store is unavailable), it
// returns true, because holding back a real email is recoverable and sending
// one from a sandbox is not.
type SandboxFunc func(ctx context.Context, projectID string) bool

// Router is the Mailer the rest of idgate uses. For each message it decides:
// a sandbox project's mail is captured in the Outbox and never sent (SPEC
// §3.2); other mail goes to the SMTP mailer when one is configured, and to
// the Outbox otherwise (development, SPEC §8).
type Router struct {
	smtp      Mailer // nil when no SMTP server is configured
	outbox    *Outbox
	isSandbox SandboxFunc
}

var _ Mailer = (*Router)(nil)

// NewRouter returns a Router over the given mailers. smtp may be nil (no
// SMTP configured); outbox and isSandbox are required, and NewRouter panics
// without them, since a router that could not capture sandbox mail would
// break the sandbox promise.
func NewRouter(smtp Mailer, outbox *Outbox, isSandbox SandboxFunc) *Router {
	if outbox == nil {
		panic("notify: NewRouter needs an Outbox")
	}
	if isSandbox == nil {
		panic("notify: NewRouter needs a SandboxFunc")
	}
	if s, ok := smtp.(*SMTPMailer); ok && s == nil {
		smtp = nil // a nil *SMTPMailer in the interface means "not configured"
	}
	return &Router{smtp: smtp, outbox: outbox, isSandbox: isSandbox}
}

// Send delivers m through the mailer its project calls for.
func (r *Router) Send(ctx context.Context, m Message) error {
	if r.smtp == nil || r.isSandbox(ctx, m.ProjectID) {
		return r.outbox.Send(ctx, m)
	}
	return r.smtp.Send(ctx, m)
}
