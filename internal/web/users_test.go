package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

func TestUpdateUserAttributes(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	u := e.user(c.UserPoolID, "mia@example.com")
	tk := e.signIn(c, "mia@example.com")

	var got map[string]any
	e.session(c.APIKey, "updateuserattribute", map[string]any{
		"email": "mia@example.com", "userPoolId": c.UserPoolID,
		"name": "Mia Wong", "given_name": "Mia", "phone_number": "+14255551212", "birthdate": "1990-04-01",
		"zoneinfo": "Europe/Paris", "locale": "fr-CA", "website": "https://mia.example", "phone_number_verified": "true",
		"address":    map[string]any{"locality": "Paris", "country": "FR"},
		"roles":      "App01AdministrationRole, App02ReadRole",
		"action":     "App01:Update,App01:Read",
		"groups":     []string{"Admins", " Finance "},
		"attributes": "ITAdminDept, FinanceAdminDept",
	}, 200, &got)
	if got["name"] != "Mia Wong" || got["phone_number_verified"] != true || len(got["roles"].([]any)) != 2 || got["actions"].([]any)[0] != "App01:Update" || got["groups"].([]any)[1] != "Finance" {
		t.Fatalf("stored = %v", got)
	}
	// The next refreshed ID token carries the values; so does the access token.
	var rt tokens
	e.session(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": tk.RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 200, &rt)
	id, at := claims(t, rt.IDToken), claims(t, rt.AccessToken)
	if id["name"] != "Mia Wong" || id["zoneinfo"] != "Europe/Paris" || id["address"].(map[string]any)["locality"] != "Paris" ||
		id["attributes"].([]any)[1] != "FinanceAdminDept" || at["roles"].([]any)[0] != "App01AdministrationRole" || at["actions"].([]any)[1] != "App01:Read" {
		t.Fatalf("refreshed tokens: id %v access %v", id, at)
	}
	var info map[string]any
	e.session(c.APIKey, "userinfofromaccesstoken", map[string]any{"accessToken": rt.AccessToken}, 200, &info)
	if info["given_name"] != "Mia" || info["phone_number"] != "+14255551212" {
		t.Fatalf("userinfo = %v", info)
	}

	// One bad value changes nothing and is named.
	cases := []struct{ field, value string }{
		{"phone_number", "555-1212"}, {"birthdate", "1990-13-45"}, {"zoneinfo", "Mars/Olympus"}, {"locale", "not a locale!"},
		{"website", "ftp://x"}, {"email_verified", "maybe"}, {"picture", "javascript:alert(1)"},
	}
	for _, tc := range cases {
		ae := e.sessionErr(c.APIKey, "updateuserattribute", map[string]any{"email": "mia@example.com", "userPoolId": c.UserPoolID, "name": "Changed", tc.field: tc.value}, 400, "invalid_request")
		if !strings.Contains(ae.Description, tc.field) {
			t.Errorf("%s: description %q does not name the field", tc.field, ae.Description)
		}
	}
	ae := e.sessionErr(c.APIKey, "updateuserattribute", map[string]any{"email": "mia@example.com", "userPoolId": c.UserPoolID, "favourite_colour": "blue", "shoe_size": "9"}, 400, "invalid_request")
	if !strings.Contains(ae.Description, "favourite_colour") || !strings.Contains(ae.Description, "shoe_size") {
		t.Fatalf("unknown names not listed: %q", ae.Description)
	}
	user, _ := e.store.GetUser(context.Background(), c.UserPoolID, u.Sub)
	if user.Profile.Name != "Mia Wong" {
		t.Fatalf("a rejected update changed the user: %q", user.Profile.Name)
	}
	e.sessionErr(c.APIKey, "updateuserattribute", map[string]any{"userPoolId": c.UserPoolID, "name": "x"}, 400, "invalid_request")
	e.sessionErr(c.APIKey, "updateuserattribute", map[string]any{"email": "mia@example.com", "name": "x"}, 400, "invalid_request")
	e.sessionErr(c.APIKey, "updateuserattribute", map[string]any{"email": "ghost@example.com", "userPoolId": c.UserPoolID, "name": "x"}, 404, "not_found")
	other := e.project("web")
	e.sessionErr(c.APIKey, "updateuserattribute", map[string]any{"email": "mia@example.com", "userPoolId": other.UserPoolID, "name": "x"}, 404, "not_found")

	// Changing the email (identified by sub) clears email_verified.
	e.session(c.APIKey, "updateuserattribute", map[string]any{"sub": u.Sub, "userPoolId": c.UserPoolID, "email": "mia.wong@example.com"}, 200, &got)
	if got["email"] != "mia.wong@example.com" || got["email_verified"] != false {
		t.Fatalf("email change = %v", got)
	}
	evs, _ := e.store.ListEvents(context.Background(), idgate.EventFilter{ProjectID: c.ProjectID, Type: idgate.EventAttributesUpdated})
	if len(evs) != 2 || evs[0].Data["fields"] == nil || strings.Contains(strings.ToLower(toString(evs[0].Data)), "mia wong") {
		t.Fatalf("attribute events = %+v", evs)
	}
}

func toString(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k)
		b.WriteString("=")
		b.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(v), "\n", " "), "\t", " ")))
	}
	return b.String()
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, p := range x {
			parts = append(parts, fmtAny(p))
		}
		return strings.Join(parts, ",")
	}
	return ""
}

func TestUpdateTokenValidity(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "noah@example.com")
	var v map[string]any
	e.session(c.APIKey, "updatetokenvalidity", map[string]any{
		"clientId": c.ClientID, "accessTokenValidity": 30, "idTokenValidity": 2, "refreshTokenValidity": 7,
		"tokenValidityUnits": map[string]any{"accessToken": "minutes", "idToken": "hours", "refreshToken": "days"},
	}, 200, &v)
	if v["accessTokenValidity"] != float64(30) || v["tokenValidityUnits"].(map[string]any)["accessToken"] != "minutes" {
		t.Fatalf("validity = %v", v)
	}
	tk := e.signIn(c, "noah@example.com")
	at, id := claims(t, tk.AccessToken), claims(t, tk.IDToken)
	if at["exp"].(float64)-at["iat"].(float64) != 1800 || id["exp"].(float64)-id["iat"].(float64) != 7200 || tk.ExpiresIn != 1800 {
		t.Fatalf("lifetimes: access %v id %v", at["exp"].(float64)-at["iat"].(float64), id["exp"].(float64)-id["iat"].(float64))
	}
	// A subset keeps the rest; the alias works.
	e.session(c.APIKey, "updateaccesstokenvaliditytime", map[string]any{"clientId": c.ClientID, "refreshTokenValidity": 90}, 200, &v)
	if v["accessTokenValidity"] != float64(30) || v["refreshTokenValidity"] != float64(90) {
		t.Fatalf("subset update = %v", v)
	}
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"clientId": c.ClientID, "accessTokenValidity": 2, "tokenValidityUnits": map[string]any{"accessToken": "minutes"}}, "accessTokenValidity"},
		{map[string]any{"clientId": c.ClientID, "idTokenValidity": 25}, "idTokenValidity"},
		{map[string]any{"clientId": c.ClientID, "refreshTokenValidity": 3651}, "refreshTokenValidity"},
		{map[string]any{"clientId": c.ClientID, "refreshTokenValidity": 30, "tokenValidityUnits": map[string]any{"refreshToken": "minutes"}}, "refreshTokenValidity"},
		{map[string]any{"clientId": c.ClientID, "accessTokenValidity": 1, "tokenValidityUnits": map[string]any{"accessToken": "weeks"}}, "tokenValidityUnits.accessToken"},
		{map[string]any{"clientId": c.ClientID, "accessTokenValidity": "ten"}, "accessTokenValidity"},
		{map[string]any{"clientId": c.ClientID}, "idTokenValidity"},
		{map[string]any{"accessTokenValidity": 1}, "clientId"},
	}
	for _, b := range bad {
		ae := e.sessionErr(c.APIKey, "updatetokenvalidity", b.body, 400, "invalid_request")
		if !strings.Contains(ae.Description, b.field) {
			t.Errorf("%v: %q does not name %s", b.body, ae.Description, b.field)
		}
	}
	other := e.project("web")
	e.sessionErr(c.APIKey, "updatetokenvalidity", map[string]any{"clientId": other.ClientID, "accessTokenValidity": 1}, 404, "not_found")
}

func TestDeleteUserTwoPhase(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	u := e.user(c.UserPoolID, "olivia@example.com")
	e.user(c.UserPoolID, "paul@example.com")
	tk := e.signIn(c, "olivia@example.com")
	keep := e.signIn(c, "paul@example.com")

	var key struct{ APIKey string }
	e.call("POST", "/admin/api/projects/"+c.ProjectID+"/apikeys", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"permissions": []string{"users:delete"}}, 201, &key)

	// Reason is required.
	e.sessionErr(key.APIKey, "deleteuser", map[string]any{"email": "olivia@example.com", "userPoolId": c.UserPoolID}, 400, "invalid_request")
	// Dry run: a summary, nothing deleted, no token.
	var dry map[string]any
	e.session(key.APIKey, "deleteuser", map[string]any{"email": "olivia@example.com", "userPoolId": c.UserPoolID, "dryRun": true}, 200, &dry)
	sum := dry["summary"].(map[string]any)
	if dry["confirmationToken"] != nil || sum["activeSessions"] != float64(1) || sum["sub"] != u.Sub {
		t.Fatalf("dry run = %v", dry)
	}
	// Phase one: 202 with a confirmation token; still nothing deleted.
	var p1 map[string]any
	e.session(key.APIKey, "deleteuser", map[string]any{"email": "olivia@example.com", "userPoolId": c.UserPoolID, "reason": "GDPR erasure request #42"}, 202, &p1)
	conf, _ := p1["confirmationToken"].(string)
	if conf == "" || !e.verify(c.APIKey, tk.AccessToken).Active {
		t.Fatalf("phase one = %v", p1)
	}
	// Unknown and expired tokens are refused.
	e.sessionErr(key.APIKey, "deleteuser", map[string]any{"confirmationToken": "del_bogus"}, 400, "invalid_request")
	// Phase two deletes.
	var p2 map[string]any
	e.session(key.APIKey, "deleteuser", map[string]any{"confirmationToken": conf}, 200, &p2)
	if p2["deleted"] != true || p2["sub"] != u.Sub || p2["revokedSessions"] != float64(1) {
		t.Fatalf("phase two = %v", p2)
	}
	e.sessionErr(key.APIKey, "deleteuser", map[string]any{"confirmationToken": conf}, 400, "invalid_request")
	if v := e.verify(c.APIKey, tk.AccessToken); v.Active || !v.Revoked {
		t.Fatalf("deleted user's token still active: %+v", v)
	}
	e.sessionErr(c.APIKey, "refreshaccesstoken", map[string]any{"refreshToken": tk.RefreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}, 400, "invalid_grant")
	if !e.verify(c.APIKey, keep.AccessToken).Active {
		t.Fatal("another user's session ended")
	}
	ctx := context.Background()
	if _, err := e.store.GetUser(ctx, c.UserPoolID, u.Sub); err == nil {
		t.Fatal("user still stored")
	}
	sessions, _ := e.store.ListSessions(ctx, c.UserPoolID, u.Sub)
	for _, s := range sessions {
		if s.IP != "" || s.UserAgent != "" || s.EndReason != idgate.EndUserDeleted {
			t.Fatalf("session not scrubbed: %+v", s)
		}
	}
	evs, _ := e.store.ListEvents(ctx, idgate.EventFilter{ProjectID: c.ProjectID, Type: idgate.EventUserDeleted})
	if len(evs) != 1 || evs[0].UserSub != u.Sub || evs[0].Data["reason"] != "GDPR erasure request #42" || evs[0].ActorType != idgate.ActorAPIKey || evs[0].IP == "" {
		t.Fatalf("deletion event = %+v", evs)
	}
	// The user was told (sandbox project: captured, not sent).
	if m, ok := e.outbox.Latest("olivia@example.com"); !ok || !strings.Contains(strings.ToLower(m.Message.Subject), "deleted") {
		t.Fatalf("no deletion email captured: %+v", m)
	}
	// The email can sign up again as a new user; the old tokens stay dead.
	e.user(c.UserPoolID, "olivia@example.com")
	if e.verify(c.APIKey, tk.AccessToken).Active {
		t.Fatal("re-created user revived old tokens")
	}
}

func TestDeleteConfirmationExpires(t *testing.T) {
	e := newEnv(t)
	c := e.project("web")
	e.user(c.UserPoolID, "quinn@example.com")
	var key struct{ APIKey string }
	e.call("POST", "/admin/api/projects/"+c.ProjectID+"/apikeys", map[string]string{"Authorization": "Bearer " + adminToken},
		map[string]any{"permissions": []string{"users:delete"}}, 201, &key)
	var p1 map[string]any
	e.session(key.APIKey, "deleteuser", map[string]any{"email": "quinn@example.com", "userPoolId": c.UserPoolID, "reason": "test"}, 202, &p1)
	e.clock.Advance(10*time.Minute + time.Second)
	e.sessionErr(key.APIKey, "deleteuser", map[string]any{"confirmationToken": p1["confirmationToken"]}, 400, "invalid_request")
	// Another project's deletion key cannot confirm it either.
	if _, err := e.store.GetUserByEmail(context.Background(), c.UserPoolID, "quinn@example.com"); err != nil {
		t.Fatal("user deleted by an expired confirmation")
	}
}
