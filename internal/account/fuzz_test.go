package account_test

import (
	"encoding/json"
	"errors"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
)

var knownAttributes = []string{
	"name", "given_name", "family_name", "middle_name", "nickname", "preferred_username", "picture", "website",
	"gender", "birthdate", "zoneinfo", "locale", "phone_number", "phone_number_verified", "email", "email_verified",
	"address", "roles", "groups", "action", "actions", "attributes",
}

var (
	fuzzE164      = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	fuzzBirthdate = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2}-[0-9]{2})?$`)
)

// FuzzUpdateAttributes sends arbitrary attribute objects through
// Service.UpdateAttributes. It must answer with a client error
// (*idgate.Error) or succeed; a refused update changes nothing; and a
// successful one only ever stores values that pass the attribute rules,
// checked here independently of the package's own parsers.
func FuzzUpdateAttributes(f *testing.F) {
	e := newEnv(f)
	u := e.user("ada@example.com")
	for _, s := range []string{
		`{"name":"Ada","roles":"a, b,,a","action":["x:y"," z "]}`,
		`{"address":{"locality":"London","country":"GB"}}`,
		`{"address":"{\"locality\":\"Paris\"}"}`,
		`{"address":"12 Main St"}`,
		`{"email":"NEW@example.com","email_verified":"true"}`,
		`{"phone_number":"+14255551212","phone_number_verified":true}`,
		`{"birthdate":"1815-12-10","zoneinfo":"Europe/London","locale":"en_GB"}`,
		`{"picture":"https://img.example/a.png","website":"http://a.example"}`,
		`{"unknown":1}`, `{"sub":"x"}`, `{"updated_at":1}`, `{}`, `{"roles":[1]}`, `{"name":null}`,
		`{"groups":"` + strings.Repeat("g,", 120) + `"}`, `{"birthdate":"0000-02-30"}`, `{"zoneinfo":"Local"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var values map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &values) != nil {
			return
		}
		load := func() idgate.User {
			t.Helper()
			u, err := e.store.GetUser(e.ctx, e.creds.UserPoolID, u.Sub)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		before := load()
		got, err := e.accounts.UpdateAttributes(e.ctx, e.creds.ProjectID, account.AttributeUpdate{PoolID: e.creds.UserPoolID, Sub: u.Sub, Values: values}, admin)
		after := load()
		if err != nil {
			var ie *idgate.Error
			if !errors.As(err, &ie) {
				t.Fatalf("UpdateAttributes(%s): non-client error %v (%T) would be a 500", body, err, err)
			}
			if ie.Code != idgate.CodeInvalidRequest && ie.Code != idgate.CodeConflict {
				t.Fatalf("UpdateAttributes(%s): code %s", body, ie.Code)
			}
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("refused update %s changed the user:\n%+v\n%+v", body, before, after)
			}
			return
		}
		for name := range values {
			if !slices.Contains(knownAttributes, name) {
				t.Fatalf("unknown attribute %q accepted", name)
			}
		}
		if !reflect.DeepEqual(got, after) {
			t.Fatalf("returned user differs from the stored one")
		}
		if problem := invalidStored(after); problem != "" {
			t.Fatalf("update %s stored an invalid value: %s\n%+v", body, problem, after)
		}
	})
}

// invalidStored checks a stored user's attributes against the rules of
// SPEC §3 and returns the first problem.
func invalidStored(u idgate.User) string {
	p := u.Profile
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || u.Email != strings.ToLower(u.Email) ||
		!strings.Contains(u.Email[strings.LastIndex(u.Email, "@"):], ".") || len(u.Email) > 254 {
		return "email " + u.Email
	}
	if p.PhoneNumber != "" && !fuzzE164.MatchString(p.PhoneNumber) {
		return "phone_number " + p.PhoneNumber
	}
	if p.Birthdate != "" {
		if !fuzzBirthdate.MatchString(p.Birthdate) {
			return "birthdate " + p.Birthdate
		}
		if len(p.Birthdate) == 10 && !strings.HasPrefix(p.Birthdate, "0000") {
			if _, err := time.Parse("2006-01-02", p.Birthdate); err != nil {
				return "birthdate " + p.Birthdate
			}
		}
	}
	if p.Zoneinfo != "" {
		if _, err := time.LoadLocation(p.Zoneinfo); err != nil || p.Zoneinfo == "Local" {
			return "zoneinfo " + p.Zoneinfo
		}
	}
	if p.Locale != "" {
		if _, err := language.Parse(strings.ReplaceAll(p.Locale, "_", "-")); err != nil {
			return "locale " + p.Locale
		}
	}
	for name, v := range map[string]string{"picture": p.Picture, "website": p.Website} {
		if v == "" {
			continue
		}
		pu, err := url.Parse(v)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return name + " " + v
		}
	}
	for name, v := range map[string]string{"name": p.Name, "given_name": p.GivenName, "family_name": p.FamilyName, "middle_name": p.MiddleName,
		"nickname": p.Nickname, "preferred_username": p.PreferredUsername, "gender": p.Gender} {
		if len(v) > 2048 || strings.TrimSpace(v) != v {
			return name + " not trimmed or too long"
		}
	}
	if a := p.Address; a != nil && len(a.Formatted)+len(a.StreetAddress)+len(a.Locality)+len(a.Region)+len(a.PostalCode)+len(a.Country) > 2048 {
		return "address too long"
	}
	for name, list := range map[string][]string{"roles": u.Roles, "groups": u.Groups, "actions": u.Actions, "attributes": u.Attributes} {
		if len(list) > 100 {
			return name + ": more than 100 items"
		}
		seen := map[string]bool{}
		for _, it := range list {
			if it == "" || strings.TrimSpace(it) != it || len(it) > 256 || seen[it] {
				return name + ": bad item " + it
			}
			seen[it] = true
		}
	}
	return ""
}
