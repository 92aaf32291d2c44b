package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"reflect"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"
)

// The names of the email templates, as passed to Templates.Render and kept
// in Message.Template.
const (
	TemplateAccountDeleted = "account_deleted"
	TemplateVerifyEmail    = "verify_email"
	TemplatePasswordReset  = "password_reset"
	TemplateNewSignin      = "new_signin"
)

// Brand is what every email says about who sent it. Each template's data
// embeds it.
type Brand struct {
	// AppName is the name the user knows the service by (the pool's or the
	// app's). Required: it appears in every subject.
	AppName string
	// Support is how to reach a person, an email address or a URL. Optional;
	// without it the emails tell the user to contact AppName's support team.
	Support string
}

func (b Brand) brand() Brand { return b }

// AccountDeletedData is the data of the account_deleted template, sent
// after a user is deleted (SPEC §3.2, precaution 4). It has no reason field
// on purpose: the reason is the operator's audit note and may mention other
// people or internal systems, so it never goes to the user.
type AccountDeletedData struct {
	Brand
	DeletedAt time.Time
}

// VerifyEmailData is the data of the verify_email template: the 6-digit
// code that confirms a new account's email address.
type VerifyEmailData struct {
	Brand
	Code     string
	ValidFor time.Duration
}

// PasswordResetData is the data of the password_reset template: the code
// that lets the user choose a new password.
type PasswordResetData struct {
	Brand
	Code     string
	ValidFor time.Duration
}

// NewSigninData is the data of the new_signin template, sent when a user
// signs in from a device or network not seen before (SPEC §6).
type NewSigninData struct {
	Brand
	SignedInAt time.Time
	Browser    string // a short description of the user agent, e.g. "Firefox on Linux"
	IP         string
	AccountURL string // the account page, where the user can end sessions; must be http(s)
}

// templateData maps each template name to the type of data it renders.
var templateData = map[string]reflect.Type{
	TemplateAccountDeleted: reflect.TypeFor[AccountDeletedData](),
	TemplateVerifyEmail:    reflect.TypeFor[VerifyEmailData](),
	TemplatePasswordReset:  reflect.TypeFor[PasswordResetData](),
	TemplateNewSignin:      reflect.TypeFor[NewSigninData](),
}

//go:embed templates
var templateFS embed.FS

// Templates renders idgate's emails. Each email is two files in the
// embedded templates directory: NAME.txt (text/template, which also defines
// the "subject" block) and NAME.html (html/template, wrapped in layout.html),
// so every message has a plain-text part and an escaped HTML part. A
// Templates is safe for concurrent use.
type Templates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// funcs are the helpers the templates share.
var funcs = map[string]any{
	"datetime": formatTime,
	"duration": formatDuration,
}

// LoadTemplates parses the embedded templates. It fails only if a template
// file is broken, so cmd/idgate calls it once at start-up.
func LoadTemplates() (*Templates, error) {
	t := &Templates{
		text: make(map[string]*texttemplate.Template),
		html: make(map[string]*htmltemplate.Template),
	}
	for name := range templateData {
		tt, err := texttemplate.New(name+".txt").Funcs(funcs).
			ParseFS(templateFS, "templates/layout.txt", "templates/"+name+".txt")
		if err != nil {
			return nil, fmt.Errorf("notify: parsing text template %s: %w", name, err)
		}
		if tt.Lookup("subject") == nil {
			return nil, fmt.Errorf("notify: text template %s defines no subject", name)
		}
		ht, err := htmltemplate.New(name+".html").Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("notify: parsing HTML template %s: %w", name, err)
		}
		t.text[name], t.html[name] = tt, ht
	}
	return t, nil
}

// Names lists the templates Render knows, sorted.
func (t *Templates) Names() []string {
	names := make([]string, 0, len(t.text))
	for name := range t.text {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Render renders the template name with data, which must be the template's
// data type (AccountDeletedData for account_deleted, and so on). The
// Message it returns has Subject, Text, HTML and Template set; the caller
// fills in To and ProjectID.
func (t *Templates) Render(name string, data any) (Message, error) {
	tt, ok := t.text[name]
	if !ok {
		return Message{}, fmt.Errorf("notify: no email template %q", name)
	}
	if want := templateData[name]; reflect.TypeOf(data) != want {
		return Message{}, fmt.Errorf("notify: template %s renders a %s, not a %T", name, want, data)
	}
	if b, ok := data.(interface{ brand() Brand }); !ok || strings.TrimSpace(b.brand().AppName) == "" {
		return Message{}, fmt.Errorf("notify: template %s: Brand.AppName is required", name)
	}

	var subject, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fmt.Errorf("notify: rendering subject of %s: %w", name, err)
	}
	if err := tt.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("notify: rendering text of %s: %w", name, err)
	}
	if err := t.html[name].Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("notify: rendering HTML of %s: %w", name, err)
	}
	return Message{
		Subject:  oneLine(subject.String()),
		Text:     strings.TrimSpace(text.String()) + "\n",
		HTML:     strings.TrimSpace(html.String()) + "\n",
		Template: name,
	}, nil
}

// oneLine folds s into a single line, so user data in a subject can never
// start a new header.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// formatTime writes t in UTC, the one zone every reader can convert from.
func formatTime(t time.Time) (string, error) {
	if t.IsZero() {
		return "", errors.New("time is not set")
	}
	return t.UTC().Format("Monday, 2 January 2006 at 15:04 UTC"), nil
}

// formatDuration writes d in whole minutes, hours or days ("10 minutes",
// "1 hour").
func formatDuration(d time.Duration) (string, error) {
	unit, n := "", int64(0)
	switch {
	case d < time.Minute:
		return "", fmt.Errorf("duration %s is under a minute", d)
	case d%(24*time.Hour) == 0:
		unit, n = "day", int64(d/(24*time.Hour))
	case d%time.Hour == 0:
		unit, n = "hour", int64(d/time.Hour)
	default:
		unit, n = "minute", int64(d.Round(time.Minute)/time.Minute)
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit), nil
}
