package notify

import (
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var signinTime = time.Date(2026, 3, 1, 14, 5, 0, 0, time.FixedZone("CET", 3600))

// sampleData holds data for every template, and what each rendering must
// show in both parts.
var sampleData = map[string]struct {
	data any
	want []string
}{
	TemplateAccountDeleted: {
		AccountDeletedData{Brand: Brand{AppName: "Acme", Support: "help@acme.example"}, DeletedAt: signinTime},
		[]string{"Acme", "Sunday, 1 March 2026 at 13:05 UTC", "help@acme.example"},
	},
	TemplateVerifyEmail: {
		VerifyEmailData{Brand: Brand{AppName: "Acme"}, Code: "482913", ValidFor: 10 * time.Minute},
		[]string{"Acme", "482913", "10 minutes"},
	},
	TemplatePasswordReset: {
		PasswordResetData{Brand: Brand{AppName: "Acme"}, Code: "725106", ValidFor: time.Hour},
		[]string{"Acme", "725106", "1 hour"},
	},
	TemplateNewSignin: {
		NewSigninData{Brand: Brand{AppName: "Acme"}, SignedInAt: signinTime, Browser: "Firefox on Linux",
			IP: "203.0.113.7", AccountURL: "https://id.acme.example/account"},
		[]string{"Acme", "Sunday, 1 March 2026 at 13:05 UTC", "Firefox on Linux", "203.0.113.7",
			"https://id.acme.example/account"},
	},
}

func loadTemplates(t *testing.T) *Templates {
	t.Helper()
	tpl, err := LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func TestEveryTemplateRendersBothParts(t *testing.T) {
	t.Parallel()
	tpl := loadTemplates(t)
	if got, want := tpl.Names(), []string{"account_deleted", "new_signin", "password_reset", "verify_email"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range tpl.Names() {
		sample, ok := sampleData[name]
		if !ok {
			t.Errorf("no sample data for template %s", name)
			continue
		}
		m, err := tpl.Render(name, sample.data)
		if err != nil {
			t.Errorf("Render(%s): %v", name, err)
			continue
		}
		if m.Template != name {
			t.Errorf("%s: Template = %q", name, m.Template)
		}
		if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || !strings.Contains(m.Subject, "Acme") {
			t.Errorf("%s: Subject = %q, want one line naming the app", name, m.Subject)
		}
		if !strings.HasPrefix(m.HTML, "<!DOCTYPE html>") || !strings.HasSuffix(m.HTML, "</html>\n") {
			t.Errorf("%s: HTML is not a whole document:\n%s", name, m.HTML)
		}
		for _, want := range sample.want {
			if !strings.Contains(m.Text, want) {
				t.Errorf("%s: text lacks %q:\n%s", name, want, m.Text)
			}
			if !strings.Contains(m.HTML, want) {
				t.Errorf("%s: HTML lacks %q:\n%s", name, want, m.HTML)
			}
		}
		// Self-contained: no images, styles, scripts or fonts fetched from
		// elsewhere (they leak the reader's IP and are blocked by clients).
		for _, bad := range []string{"<img", "<link", "<script", "<style", "src=", "url(", "@import"} {
			if strings.Contains(strings.ToLower(m.HTML), bad) {
				t.Errorf("%s: HTML contains %q", name, bad)
			}
		}
		if strings.Contains(m.Text, "<") || strings.Contains(m.Text, "&amp;") {
			t.Errorf("%s: text part has markup:\n%s", name, m.Text)
		}
		// The message must pass the mailers' checks once addressed.
		m.To = "ada@example.com"
		if err := m.validate(); err != nil {
			t.Errorf("%s: rendered message is invalid: %v", name, err)
		}
	}
}

func TestTemplateFilesAllUsed(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(templateFS, "templates/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".txt"), ".html")
		if _, ok := templateData[base]; !ok && base != "layout" {
			t.Errorf("template file %s belongs to no template", f)
		}
	}
}

func TestAccountDeletedNeverCarriesTheReason(t *testing.T) {
	t.Parallel()
	// SPEC §3.2: the reason is the operator's audit note, not the user's
	// business. Keep it out of the data type so no template can show it.
	typ := reflect.TypeFor[AccountDeletedData]()
	for i := range typ.NumField() {
		if name := strings.ToLower(typ.Field(i).Name); strings.Contains(name, "reason") {
			t.Errorf("AccountDeletedData has a field %s", typ.Field(i).Name)
		}
	}
	m, err := loadTemplates(t).Render(TemplateAccountDeleted, AccountDeletedData{Brand: Brand{AppName: "Acme"}, DeletedAt: signinTime})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(m.Text), " "), "Acme support team") || !strings.Contains(m.HTML, "Acme support team") {
		t.Errorf("without a Support contact the email must still say whom to contact:\n%s", m.Text)
	}
}

func TestTemplatesEscapeUserData(t *testing.T) {
	t.Parallel()
	tpl := loadTemplates(t)
	hostile := `<script>alert("x")</script>`
	m, err := tpl.Render(TemplateNewSignin, NewSigninData{
		Brand:      Brand{AppName: "Acme " + hostile, Support: `"><b>help</b>`},
		SignedInAt: signinTime,
		Browser:    `Evil/1.0 <img src=x onerror=alert(1)>`,
		IP:         "203.0.113.7",
		AccountURL: "javascript:alert(1)",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"<script>", "<img", "<b>help", "javascript:"} {
		if strings.Contains(m.HTML, raw) {
			t.Errorf("HTML contains unescaped %q:\n%s", raw, m.HTML)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "#ZgotmplZ"} {
		if !strings.Contains(m.HTML, escaped) {
			t.Errorf("HTML lacks %q:\n%s", escaped, m.HTML)
		}
	}
	// The text part is plain text: it shows the data as it is.
	if !strings.Contains(m.Text, hostile) {
		t.Errorf("text part altered the data:\n%s", m.Text)
	}
}

func TestRenderSubjectIsOneLine(t *testing.T) {
	t.Parallel()
	m, err := loadTemplates(t).Render(TemplateVerifyEmail, VerifyEmailData{
		Brand: Brand{AppName: "Acme\r\nBcc: victim@example.com"}, Code: "123456", ValidFor: 5 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Verify your email address for Acme Bcc: victim@example.com"; m.Subject != want {
		t.Errorf("Subject = %q, want %q", m.Subject, want)
	}
}

func TestRenderErrors(t *testing.T) {
	t.Parallel()
	tpl := loadTemplates(t)
	tests := []struct {
		name string
		data any
		want string
	}{
		{"welcome", VerifyEmailData{}, `no email template "welcome"`},
		{TemplateVerifyEmail, PasswordResetData{Brand: Brand{AppName: "Acme"}, Code: "1", ValidFor: time.Hour}, "renders a notify.VerifyEmailData"},
		{TemplateVerifyEmail, &VerifyEmailData{Brand: Brand{AppName: "Acme"}, Code: "1", ValidFor: time.Hour}, "not a *notify.VerifyEmailData"},
		{TemplateVerifyEmail, nil, "not a <nil>"},
		{TemplateVerifyEmail, VerifyEmailData{Code: "1", ValidFor: time.Hour}, "AppName is required"},
		{TemplateVerifyEmail, VerifyEmailData{Brand: Brand{AppName: "Acme"}, Code: "1"}, "under a minute"},
		{TemplateAccountDeleted, AccountDeletedData{Brand: Brand{AppName: "Acme"}}, "time is not set"},
	}
	for _, tt := range tests {
		_, err := tpl.Render(tt.name, tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Render(%s, %#v) = %v, want an error with %q", tt.name, tt.data, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		time.Minute:                "1 minute",
		10 * time.Minute:           "10 minutes",
		90 * time.Second:           "2 minutes",
		time.Hour:                  "1 hour",
		90 * time.Minute:           "90 minutes",
		3 * time.Hour:              "3 hours",
		24 * time.Hour:             "1 day",
		7 * 24 * time.Hour:         "7 days",
		24*time.Hour + time.Minute: "1441 minutes",
	} {
		if got, err := formatDuration(d); err != nil || got != want {
			t.Errorf("formatDuration(%s) = %q, %v; want %q", d, got, err, want)
		}
	}
}
