package token_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
)

// canonicalJWS decodes a compact JWS the way the JOSE parser does
// (whitespace dropped, unpadded base64url) and returns its three decoded
// parts; ok is false when it is not three decodable parts.
func canonicalJWS(s string) (parts [3][]byte, ok bool) {
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
	segs := strings.Split(s, ".")
	if len(segs) != 3 {
		return parts, false
	}
	for i, seg := range segs {
		b, err := b64.DecodeString(seg)
		if err != nil {
			return parts, false
		}
		parts[i] = b
	}
	return parts, true
}

// FuzzVerify feeds arbitrary strings to Service.Verify. It must never
// panic or fail with an error, and it must never report a verified
// signature for anything but the genuine tokens of the seed corpus (the
// same header, payload and signature bytes: base64 and whitespace variants
// of a genuine token decode to that same token and are not forgeries).
func FuzzVerify(f *testing.F) {
	e := newTenv(f)
	c := e.project("RS256", "web")
	other := e.project("EdDSA", "web")
	u := e.user(c.UserPoolID, "ada@example.com")
	resp := e.signIn(c, u)
	kid, alg, key := e.currentKey(c.UserPoolID)
	_, claims := parts(f, resp.AccessToken)
	resigned := sign(f, alg, key, kid, "at+jwt", claims)
	genuine := []string{resp.AccessToken, resp.IDToken, resigned}
	var genuineParts [][3][]byte
	for _, g := range genuine {
		p, ok := canonicalJWS(g)
		if !ok {
			f.Fatalf("seed token %q does not decode", g)
		}
		genuineParts = append(genuineParts, p)
	}

	for _, g := range genuine {
		f.Add(g)
		f.Add(g[:len(g)-1])
		f.Add(g + "A")
		segs := strings.Split(g, ".")
		f.Add(segs[0] + "." + segs[1] + ".")
		f.Add(segs[0] + ".." + segs[2])
		f.Add("eyJhbGciOiJub25lIn0." + segs[1] + ".")
		f.Add("eyJhbGciOiJIUzI1NiJ9." + segs[1] + "." + segs[2])
	}
	f.Add(e.signIn(other, e.user(other.UserPoolID, "bob@example.com")).AccessToken)
	for _, s := range []string{"", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30", "null", "{}", strings.Repeat("A", 20000),
		`{"payload":"e30","signatures":[{"protected":"eyJhbGciOiJub25lIn0","signature":""}]}`,
		"eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJpc3MiOiIifQ.AAAA"} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		v, err := e.tokens.Verify(e.ctx, c.UserPoolID, raw)
		if err != nil {
			t.Fatalf("Verify(%q) error: %v", raw, err)
		}
		if !v.SignatureVerified {
			if v.Active || v.Revoked || v.Expired {
				t.Fatalf("unverified token with a verdict: %+v", v)
			}
			return
		}
		p, ok := canonicalJWS(raw)
		if !ok {
			t.Fatalf("verified a token that is not a compact JWS: %q", raw)
		}
		for _, g := range genuineParts {
			if bytes.Equal(p[0], g[0]) && bytes.Equal(p[1], g[1]) && bytes.Equal(p[2], g[2]) {
				return
			}
		}
		t.Fatalf("fuzzed input verified as a new token: %q (verdict %+v)", raw, v)
	})
}
