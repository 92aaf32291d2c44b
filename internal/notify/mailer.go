package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// Message is one email, ready to deliver. Templates.Render fills Subject,
// Text, HTML and Template; the caller adds To and ProjectID.
type Message struct {
	// To is the recipient's address (RFC 5322, e.g. "ada@example.com").
	To string
	// Subject is a single line; go-mail encodes non-ASCII text.
	Subject string
	// Text is the plain-text body. Every message has one.
	Text string
	// HTML is the HTML alternative of Text; empty for text-only mail.
	HTML string
	// Template names the template the message was rendered from (for logs
	// and the console); empty for hand-written messages.
	Template string
	// ProjectID is the project the message is sent on behalf of. The Router
	// uses it to keep sandbox projects' mail from leaving the server.
	ProjectID string
}

// ErrInvalidMessage is returned (wrapped, with the problems) by every
// Mailer for a message that could not be delivered as it is: no or a
// malformed recipient, no subject, no text body. Retrying will not help.
var ErrInvalidMessage = errors.New("notify: invalid message")

// Mailer delivers messages. Send returns once the message is handed over
// (accepted by the SMTP server, or captured), or with the reason it was not.
// Implementations are safe for concurrent use.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// validate reports what makes m undeliverable, before any I/O.
func (m Message) validate() error {
	var problems []string
	if strings.TrimSpace(m.To) == "" {
		problems = append(problems, "no recipient")
	} else if _, err := mail.ParseAddress(m.To); err != nil {
		problems = append(problems, fmt.Sprintf("invalid recipient %q (%v)", m.To, err))
	}
	if strings.TrimSpace(m.Subject) == "" {
		problems = append(problems, "no subject")
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		problems = append(problems, "subject spans several lines")
	}
	if m.Text == "" {
		problems = append(problems, "no text body")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidMessage, strings.Join(problems, "; "))
	}
	return nil
}

// equalFoldAddress reports whether a and b name the same mailbox, ignoring
// display names and case.
func equalFoldAddress(a, b string) bool {
	pa, errA := mail.ParseAddress(a)
	pb, errB := mail.ParseAddress(b)
	if errA == nil && errB == nil {
		return strings.EqualFold(pa.Address, pb.Address)
	}
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}
