package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// DefaultOutboxCapacity is how many messages an Outbox keeps when
// NewOutbox is given a capacity below one.
const DefaultOutboxCapacity = 100

// Captured is a message kept by an Outbox instead of being sent.
type Captured struct {
	ID         string    // "msg_" and 32 hex digits, unique per message
	CapturedAt time.Time // UTC
	Message    Message
}

// Outbox is the development mailer: it keeps the last messages in memory
// (for the console, and for tests that read a code from an email) and logs
// each one. It never sends anything. It is safe for concurrent use.
type Outbox struct {
	// LogBodies adds each message's text body to its log line. Only for
	// development, where reading the code in the log is the point: bodies
	// carry one-time codes and links. Set it before the first Send.
	LogBodies bool

	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	ring []Captured // ring buffer; next is the slot the next message takes
	next int
	n    int
}

var _ Mailer = (*Outbox)(nil)

// NewOutbox returns an Outbox keeping the last capacity messages
// (DefaultOutboxCapacity when capacity < 1) and logging to logger (nothing
// when logger is nil).
func NewOutbox(capacity int, logger *slog.Logger) *Outbox {
	if capacity < 1 {
		capacity = DefaultOutboxCapacity
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Outbox{log: logger, now: time.Now, ring: make([]Captured, capacity)}
}

// Send captures m, dropping the oldest message when the Outbox is full. It
// rejects the messages the SMTP mailer would reject, so mistakes show up in
// development too.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.validate(); err != nil {
		return err
	}
	c := Captured{ID: idgate.NewID("msg_"), CapturedAt: o.now().UTC(), Message: m}

	o.mu.Lock()
	o.ring[o.next] = c
	o.next = (o.next + 1) % len(o.ring)
	o.n = min(o.n+1, len(o.ring))
	o.mu.Unlock()

	attrs := []any{
		"id", c.ID, "to", m.To, "subject", m.Subject,
		"template", m.Template, "project_id", m.ProjectID,
	}
	if o.LogBodies {
		attrs = append(attrs, "text", m.Text)
	}
	o.log.InfoContext(ctx, "email captured in outbox", attrs...)
	return nil
}

// List returns the kept messages, newest first.
func (o *Outbox) List() []Captured {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Captured, 0, o.n)
	for i := 1; i <= o.n; i++ {
		out = append(out, o.ring[(o.next-i+len(o.ring))%len(o.ring)])
	}
	return out
}

// Latest returns the newest kept message to the address to (compared
// without regard to case), for tests and the console.
func (o *Outbox) Latest(to string) (Captured, bool) {
	for _, c := range o.List() {
		if equalFoldAddress(c.Message.To, to) {
			return c, true
		}
	}
	return Captured{}, false
}
