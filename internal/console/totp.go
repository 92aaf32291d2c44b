package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/totp"
)

// TOTP parameters: RFC 6238 defaults (every authenticator app supports
// them); a code of the previous or next step is accepted for clock skew.
const (
	// totpIssuer is the label authenticator apps show.
	totpIssuer = "idgate console"
	// enrolmentTTL is how long a page's pending authenticator is accepted.
	enrolmentTTL = 30 * time.Minute
)

// totpAAD binds an administrator's sealed TOTP secret to the admin.
func totpAAD(adminID string) string { return "console-totp:" + adminID }

// enrolAAD binds a pending enrolment to the setup or invitation token.
func enrolAAD(raw string) string { return "console-enrol:" + secret.Digest(raw) }

// Enrolment is a pending authenticator of the setup or invitation page:
// the secret for manual entry, the otpauth URI, its QR code as a data: URI
// of a PNG, and Sealed, the secret encrypted under the master key and bound
// to the page's token, which the form posts back.
type Enrolment struct {
	Secret string
	URI    string
	QR     string
	Sealed string
}

// Enrol draws a new authenticator secret for the page of token raw.
func (s *Service) Enrol(raw, email string) (Enrolment, error) {
	b := make([]byte, 20)
	rand.Read(b)
	sec := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	q := url.Values{"secret": {sec}, "issuer": {totpIssuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	label := totpIssuer
	if email != "" {
		label += ":" + email
	}
	uri := (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + label, RawQuery: q.Encode()}).String()
	qr, err := QRDataURI(uri)
	if err != nil {
		return Enrolment{}, err
	}
	plain := sec + "|" + strconv.FormatInt(s.now().Unix(), 10)
	sealed := base64.RawURLEncoding.EncodeToString(s.sealer.Seal([]byte(plain), enrolAAD(raw)))
	return Enrolment{Secret: sec, URI: uri, QR: qr, Sealed: sealed}, nil
}

// openEnrolment returns the secret of a sealed enrolment of token raw that
// is not older than enrolmentTTL.
func (s *Service) openEnrolment(sealed, raw string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) == 0 {
		return "", errSealedSecret
	}
	plain, err := s.sealer.Open(b, enrolAAD(raw))
	if err != nil {
		return "", errSealedSecret
	}
	sec, ts, ok := strings.Cut(string(plain), "|")
	issued, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || s.now().Sub(time.Unix(issued, 0)) > enrolmentTTL {
		return "", errSealedSecret
	}
	return sec, nil
}

// QRDataURI renders text as a PNG QR code in a data: URI (the console's CSP
// allows data: images and nothing external).
func QRDataURI(uri string) (string, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", err
	}
	img, err := key.Image(220, 220)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// verifyTOTP checks an administrator's code and consumes its time step, so
// a code works once.
func (s *Service) verifyTOTP(ctx context.Context, a idgate.Admin, code string) error {
	raw, err := s.sealer.Open(a.TOTPSecret, totpAAD(a.ID))
	if err != nil {
		return err
	}
	step, ok := totp.Match(string(raw), totp.Normalize(code), s.now())
	if !ok {
		return ErrBadCode
	}
	if err := s.store.UseAdminTOTPStep(ctx, a.ID, step); err != nil {
		if errors.Is(err, idgate.ErrUsed) {
			return ErrBadCode
		}
		return err
	}
	return nil
}
