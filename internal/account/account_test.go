package account_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/idgate"
)

func asError(t *testing.T, err error) *idgate.Error {
	t.Helper()
	var e *idgate.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *idgate.Error", err, err)
	}
	return e
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	def := idgate.Pool{} // PasswordMinLength 0: the default, 12
	strict := idgate.Pool{PasswordMinLength: 16}
	cases := []struct {
		pool idgate.Pool
		pw   string
		ok   bool
	}{
		{def, "", false},
		{def, "elevenchars", false}, // 11
		{def, "twelve-chars", true}, // 12
		{def, "ünïcødé-pw12", true}, // 12 runes, more bytes
		{def, "ünïcødé-pw1", false}, // 11 runes, 15 bytes: runes count, not bytes
		{def, "passwordpassword", false},
		{def, "PasswordPassword", false}, // the list is case-insensitive
		{def, "qwerty123456", false},
		{def, "1QAZ2WSX3EDC", false},
		{def, "correct horse battery staple", true},
		{def, strings.Repeat("Zq8!", 256), true},        // 1024 bytes
		{def, strings.Repeat("Zq8!", 256) + "x", false}, // 1025 bytes
		{strict, "twelve-chars", false},
		{strict, "sixteen-chars-ok", true},
	}
	for _, c := range cases {
		err := account.CheckPassword(c.pool, c.pw)
		if c.ok {
			if err != nil {
				t.Errorf("CheckPassword(min %d, %q): %v", c.pool.PasswordMinLength, c.pw, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckPassword(min %d, %q) accepted", c.pool.PasswordMinLength, c.pw)
			continue
		}
		if ie := asError(t, err); ie.Field != "password" || ie.Code != idgate.CodeInvalidRequest {
			t.Errorf("CheckPassword(%q): %+v, want invalid_request on password", c.pw, ie)
		}
	}
	if err := account.CheckPassword(def, "passwordpassword"); !strings.Contains(asError(t, err).Description, "common") {
		t.Errorf("a common password's error does not say why: %v", err)
	}
}

func TestCreateUserRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("  Ada@Example.COM ")
	if u.Email != "ada@example.com" || u.Username != u.Sub || u.Status != idgate.StatusConfirmed || !u.EmailVerified {
		t.Fatalf("created user %+v", u)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("password stored as %q", u.PasswordHash)
	}
	_, err := e.accounts.CreateUser(e.ctx, account.NewUser{PoolID: e.creds.UserPoolID, Email: "ADA@example.com", Password: "another good password"}, admin)
	if asError(t, err).Code != idgate.CodeConflict {
		t.Fatalf("duplicate email: %v", err)
	}
	_, err = e.accounts.CreateUser(e.ctx, account.NewUser{PoolID: e.creds.UserPoolID, Email: "bob@example.com", Password: "passwordpassword"}, admin)
	if asError(t, err).Field != "password" {
		t.Fatalf("common password: %v", err)
	}
	_, err = e.accounts.CreateUser(e.ctx, account.NewUser{PoolID: e.creds.UserPoolID, Email: "not an email", Password: "another good password"}, admin)
	if asError(t, err).Field != "email" {
		t.Fatalf("bad email: %v", err)
	}
	if _, err := e.accounts.CreateUser(e.ctx, account.NewUser{PoolID: "test_nosuchpl", Email: "c@example.com", Password: "another good password"}, admin); asError(t, err).Code != idgate.CodeNotFound {
		t.Fatalf("unknown pool: %v", err)
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada@example.com")
	pool := e.creds.UserPoolID
	got, err := e.accounts.Authenticate(e.ctx, pool, " ADA@example.com ", "correct horse battery staple", admin)
	if err != nil || got.Sub != u.Sub {
		t.Fatalf("right password: %+v, %v", got, err)
	}
	_, wrong := e.accounts.Authenticate(e.ctx, pool, "ada@example.com", "wrong password!!", admin)
	_, unknown := e.accounts.Authenticate(e.ctx, pool, "nobody@example.com", "wrong password!!", admin)
	if wrong == nil || unknown == nil || wrong.Error() != unknown.Error() {
		t.Fatalf("wrong password %v and unknown email %v must give the same answer", wrong, unknown)
	}
	evs, _ := e.store.ListEvents(e.ctx, idgate.EventFilter{ProjectID: e.creds.ProjectID, Type: idgate.EventLoginFailed})
	if len(evs) != 2 {
		t.Fatalf("%d login.failed events, want 2", len(evs))
	}
}

// TestAttributeParsing runs every standard attribute through
// UpdateAttributes with valid and invalid values. Valid values must be
// stored as the claim shows; invalid ones refused naming the attribute, and
// the user left unchanged.
func TestAttributeParsing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada@example.com")
	long := `"` + strings.Repeat("n", 2049) + `"`
	items := make([]string, 101)
	for i := range items {
		items[i] = fmt.Sprint("r", i)
	}
	hundredOne := `"` + strings.Join(items, ",") + `"`
	hundred := `"` + strings.Join(items[:100], ",") + `"`
	hundredWant, _ := json.Marshal(items[:100])
	cases := []struct {
		name, value string
		want        string // JSON of the stored claim; "" means the value is refused
		claim       string // claim name when it differs from the request name
	}{
		{"name", `"Ada Lovelace"`, `"Ada Lovelace"`, ""},
		{"name", `"  Ada  "`, `"Ada"`, ""},
		{"name", `123`, "", ""},
		{"name", `["Ada"]`, "", ""},
		{"name", long, "", ""},
		{"name", `null`, `null`, ""},
		{"given_name", `"Augusta Ada"`, `"Augusta Ada"`, ""},
		{"given_name", `true`, "", ""},
		{"family_name", `"King"`, `"King"`, ""},
		{"family_name", `{}`, "", ""},
		{"middle_name", `"Byron"`, `"Byron"`, ""},
		{"nickname", `"Ada"`, `"Ada"`, ""},
		{"preferred_username", `"j.doe @/x"`, `"j.doe @/x"`, ""},
		{"preferred_username", `1.5`, "", ""},
		{"gender", `"female"`, `"female"`, ""},
		{"picture", `"https://img.example/ada.png"`, `"https://img.example/ada.png"`, ""},
		{"picture", `"javascript:alert(1)"`, "", ""},
		{"picture", `"ftp://img.example/a.png"`, "", ""},
		{"picture", `"http://"`, "", ""},
		{"picture", `"not a url"`, "", ""},
		{"website", `"http://ada.example/blog"`, `"http://ada.example/blog"`, ""},
		{"website", `"ada.example"`, "", ""},
		{"birthdate", `"1815-12-10"`, `"1815-12-10"`, ""},
		{"birthdate", `"0000-12-10"`, `"0000-12-10"`, ""},
		{"birthdate", `"1815"`, `"1815"`, ""},
		{"birthdate", `"1815-02-30"`, "", ""},
		{"birthdate", `"1815-13-01"`, "", ""},
		{"birthdate", `"10/12/1815"`, "", ""},
		{"birthdate", `"1815-12"`, "", ""},
		{"birthdate", `"0000-13-45"`, "", ""}, // year may be omitted (0000), the month and day must still exist
		{"zoneinfo", `"Europe/London"`, `"Europe/London"`, ""},
		{"zoneinfo", `"America/Los_Angeles"`, `"America/Los_Angeles"`, ""},
		{"zoneinfo", `"Mars/Olympus_Mons"`, "", ""},
		{"zoneinfo", `"Local"`, "", ""},
		{"zoneinfo", `"../../etc/passwd"`, "", ""},
		{"locale", `"en-GB"`, `"en-GB"`, ""},
		{"locale", `"fr_CA"`, `"fr_CA"`, ""},
		{"locale", `"not a locale!"`, "", ""},
		{"locale", `"e"`, "", ""},
		{"phone_number", `"+14255551212"`, `"+14255551212"`, ""},
		{"phone_number", `"4255551212"`, "", ""},
		{"phone_number", `"+1 (425) 555-1212"`, `"+14255551212"`, ""}, // the documents' own example, stored as E.164
		{"phone_number", `"+0123456"`, "", ""},
		{"phone_number", `"+1234567890123456"`, "", ""},
		{"phone_number", `14255551212`, "", ""},
		{"phone_number_verified", `true`, `true`, ""},
		{"phone_number_verified", `"false"`, `false`, ""},
		{"phone_number_verified", `"true"`, `true`, ""},
		{"phone_number_verified", `false`, `false`, ""},
		{"phone_number_verified", `"yes"`, "", ""},
		{"phone_number_verified", `1`, "", ""},
		{"email_verified", `false`, `false`, ""},
		{"email_verified", `"true"`, `true`, ""},
		{"email_verified", `" FALSE "`, `false`, ""},
		{"email_verified", `"1"`, "", ""},
		{"email_verified", `null`, `false`, ""},
		{"address", `{"street_address":"12 St James's Square","locality":"London","postal_code":"SW1Y 4JH","country":"GB"}`,
			`{"street_address":"12 St James's Square","locality":"London","postal_code":"SW1Y 4JH","country":"GB"}`, ""},
		{"address", `"{\"locality\":\"Paris\",\"country\":\"FR\"}"`, `{"locality":"Paris","country":"FR"}`, ""},
		{"address", `"12 St James's Square, London"`, `{"formatted":"12 St James's Square, London"}`, ""},
		{"address", `{"planet":"Mars"}`, "", ""},
		{"address", `"{\"planet\":\"Mars\"}"`, "", ""},
		{"address", `42`, "", ""},
		{"address", `["London"]`, "", ""},
		{"address", `null`, `null`, ""},
		{"roles", `"App01AdministrationRole"`, `["App01AdministrationRole"]`, ""},
		{"roles", `" a, b,,a , c "`, `["a","b","c"]`, ""},
		{"roles", `["x"," y ","x",""]`, `["x","y"]`, ""},
		{"roles", `""`, `[]`, ""},
		{"roles", hundred, string(hundredWant), ""},
		{"roles", hundredOne, "", ""},
		{"roles", `"` + strings.Repeat("r", 257) + `"`, "", ""},
		{"roles", `42`, "", ""},
		{"roles", `[1,2]`, "", ""},
		{"roles", `{"a":1}`, "", ""},
		{"groups", `"staff, admins"`, `["staff","admins"]`, ""},
		{"groups", `["staff"]`, `["staff"]`, ""},
		{"groups", `true`, "", ""},
		{"action", `"App01:Update, App01:Delete, App01:Read, App01:Administer"`, `["App01:Update","App01:Delete","App01:Read","App01:Administer"]`, "actions"},
		{"actions", `["App01:Read"]`, `["App01:Read"]`, "actions"},
		{"action", `7`, "", ""},
		{"attributes", `"ITAdminDept, FinanceAdminDept"`, `["ITAdminDept","FinanceAdminDept"]`, ""},
		{"attributes", `[["nested"]]`, "", ""},
		{"email", `"Ada.New@Example.com"`, `"ada.new@example.com"`, ""},
		{"email", `"not-an-email"`, "", ""},
		{"email", `"ada@localhost"`, "", ""},
		{"email", `"Ada <ada@example.com>"`, "", ""},
		{"email", `5`, "", ""},
		{"updated_at", `1700000000`, "", ""},
		{"sub", `"someone-else"`, "", ""},
		{"username", `"root"`, "", ""},
		{"favourite_colour", `"blue"`, "", ""},
		{"Name", `"Ada"`, "", ""}, // names are case-sensitive claim names
		{"custom:department", `"IT"`, "", ""},
	}
	email := u.Email
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s=%.24s", c.name, c.value), func(t *testing.T) {
			before := e.get(u.Sub)
			got, err := e.update(email, map[string]string{c.name: c.value})
			if c.want == "" {
				if err == nil {
					t.Fatalf("%s = %s accepted", c.name, c.value)
				}
				ie := asError(t, err)
				if ie.Code != idgate.CodeInvalidRequest || ie.Field != c.name || !strings.Contains(ie.Description, c.name) {
					t.Fatalf("%s = %s: error %+v, want invalid_request naming %s", c.name, c.value, ie, c.name)
				}
				if after := e.get(u.Sub); !reflect.DeepEqual(after, before) {
					t.Fatalf("%s = %s was refused but the user changed:\n%+v\n%+v", c.name, c.value, before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s = %s: %v", c.name, c.value, err)
			}
			cl := c.claim
			if cl == "" {
				cl = c.name
			}
			stored := e.get(u.Sub)
			if !jsonEqual(claim(stored, cl), c.want) || !jsonEqual(claim(got, cl), c.want) {
				t.Fatalf("%s = %s: stored claim %s = %s (returned %s), want %s", c.name, c.value, cl, claim(stored, cl), claim(got, cl), c.want)
			}
			if c.name == "email" {
				email = stored.Email
				if stored.EmailVerified {
					t.Fatal("changing the email did not clear email_verified")
				}
			}
		})
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestAttributeUpdateIsAtomic checks one bad value changes nothing, that
// all problems are reported together, and unknown names are listed.
func TestAttributeUpdateIsAtomic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada@example.com")
	before := e.get(u.Sub)
	_, err := e.update(u.Email, map[string]string{"name": `"Ada"`, "roles": `"a,b"`, "phone_number": `"555"`, "zoneinfo": `"Nowhere/Land"`})
	ie := asError(t, err)
	if !strings.Contains(ie.Description, "phone_number") || !strings.Contains(ie.Description, "zoneinfo") {
		t.Fatalf("error %+v does not report every bad value", ie)
	}
	if after := e.get(u.Sub); !reflect.DeepEqual(after, before) {
		t.Fatal("a refused update changed the user")
	}
	_, err = e.update(u.Email, map[string]string{"name": `"Ada"`, "zzz": `1`, "aaa": `2`})
	ie = asError(t, err)
	if ie.Field != "aaa" || !strings.Contains(ie.Description, "aaa") || !strings.Contains(ie.Description, "zzz") {
		t.Fatalf("unknown names: %+v, want both listed", ie)
	}
	if _, err := e.update(u.Email, map[string]string{}); asError(t, err).Code != idgate.CodeInvalidRequest {
		t.Fatalf("empty update: %v", err)
	}

	// Success: everything at once, with one event naming the fields.
	got, err := e.update(u.Email, map[string]string{"name": `"Ada"`, "roles": `"a,b"`, "action": `"x:y"`, "email_verified": `false`})
	if err != nil {
		t.Fatal(err)
	}
	if got.Profile.Name != "Ada" || strings.Join(got.Roles, ",") != "a,b" || strings.Join(got.Actions, ",") != "x:y" || got.EmailVerified {
		t.Fatalf("updated user %+v", got)
	}
	evs, _ := e.store.ListEvents(e.ctx, idgate.EventFilter{ProjectID: e.creds.ProjectID, Type: idgate.EventAttributesUpdated})
	if len(evs) != 1 {
		t.Fatalf("%d attribute events, want 1", len(evs))
	}
	b, _ := json.Marshal(evs[0].Data)
	if !strings.Contains(string(b), "roles") || strings.Contains(string(b), `"a,b"`) || strings.Contains(string(b), `"Ada"`) {
		t.Fatalf("event data %s: want the changed field names, not their values", b)
	}

	// Email taken by another user: conflict, nothing changes.
	other := e.user("bob@example.com")
	if _, err := e.update(other.Email, map[string]string{"email": `"ada@example.com"`}); asError(t, err).Code != idgate.CodeConflict {
		t.Fatalf("email of another user: %v", err)
	}
	if e.get(other.Sub).Email != "bob@example.com" {
		t.Fatal("conflicting email change was stored")
	}
}

func TestUpdateAttributesTargeting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.user("ada@example.com")
	values := map[string]json.RawMessage{"nickname": json.RawMessage(`"A"`)}
	cases := []struct {
		name      string
		projectID string
		in        account.AttributeUpdate
		code      string
	}{
		{"no pool", e.creds.ProjectID, account.AttributeUpdate{Email: u.Email, Values: values}, idgate.CodeInvalidRequest},
		{"unknown pool", e.creds.ProjectID, account.AttributeUpdate{PoolID: "test_nosuchpl", Email: u.Email, Values: values}, idgate.CodeNotFound},
		{"another project's pool", "prj_other", account.AttributeUpdate{PoolID: e.creds.UserPoolID, Email: u.Email, Values: values}, idgate.CodeNotFound},
		{"unknown email", e.creds.ProjectID, account.AttributeUpdate{PoolID: e.creds.UserPoolID, Email: "nobody@example.com", Values: values}, idgate.CodeNotFound},
		{"no email nor sub", e.creds.ProjectID, account.AttributeUpdate{PoolID: e.creds.UserPoolID, Values: values}, idgate.CodeInvalidRequest},
	}
	for _, c := range cases {
		if _, err := e.accounts.UpdateAttributes(e.ctx, c.projectID, c.in, admin); asError(t, err).Code != c.code {
			t.Errorf("%s: %v, want %s", c.name, err, c.code)
		}
	}
	// By sub, with email as a change.
	got, err := e.accounts.UpdateAttributes(e.ctx, e.creds.ProjectID, account.AttributeUpdate{PoolID: e.creds.UserPoolID, Sub: u.Sub, Email: "new@example.com", Values: values}, admin)
	if err != nil || got.Email != "new@example.com" || got.Profile.Nickname != "A" || got.EmailVerified {
		t.Fatalf("update by sub: %+v, %v", got, err)
	}
}
