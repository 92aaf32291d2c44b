package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var userTests = []test{
	{"Users", testUsers},
	{"UserEmails", testUserEmails},
	{"UpdateUser", testUpdateUser},
	{"UpdateUserConcurrent", testUpdateUserConcurrent},
	{"ListUsers", testListUsers},
	{"DeleteUser", testDeleteUser},
}

// newUser returns a confirmed user of the fixture's pool with every field
// set, the Profile's address included.
func newUser(f fixture, email string, created time.Time) idgate.User {
	return idgate.User{
		Sub: idgate.NewUUID(), PoolID: f.Pool.ID, Username: "user-" + idgate.RandomString("abcdef", 8),
		Email: email, EmailVerified: true, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Status: idgate.StatusConfirmed,
		Profile: idgate.Profile{
			Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", MiddleName: "King", Nickname: "ada",
			PreferredUsername: "ada", Picture: "https://pics.example/ada.png", Website: "https://ada.example",
			Gender: "female", Birthdate: "1815-12-10", Zoneinfo: "Europe/London", Locale: "en-GB",
			PhoneNumber: "+441234567890", PhoneNumberVerified: true,
			Address: &idgate.Address{
				Formatted: "12 St James's Square, London", StreetAddress: "12 St James's Square",
				Locality: "London", Region: "Greater London", PostalCode: "SW1Y 4JH", Country: "GB",
			},
		},
		Roles:      []string{"admin", "billing"},
		Groups:     []string{"staff"},
		Actions:    []string{"reports:read"},
		Attributes: []string{"beta"},
		TOTPSecret: []byte{0x01, 0x02, 0xfe, 0xff},
		CreatedAt:  created,
		UpdatedAt:  created.Add(time.Second),
	}
}

func testUsers(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	full := newUser(f, "ada@example.com", at(time.Hour))
	minimal := idgate.User{ // no email, profile, lists, TOTP or update time
		Sub: idgate.NewUUID(), PoolID: f.Pool.ID, Username: "bare", Status: idgate.StatusUnconfirmed,
		CreatedAt: at(2 * time.Hour),
	}
	must(t, s.CreateUser(ctx, full))
	must(t, s.CreateUser(ctx, minimal))

	for _, want := range []idgate.User{full, minimal} {
		got, err := s.GetUser(ctx, f.Pool.ID, want.Sub)
		must(t, err)
		equal(t, "GetUser "+want.Username, got, want)
	}
	got, err := s.GetUserByEmail(ctx, f.Pool.ID, full.Email)
	must(t, err)
	equal(t, "GetUserByEmail", got, full)

	dup := newUser(f, "other@example.com", t0)
	dup.Sub = full.Sub
	wantErr(t, s.CreateUser(ctx, dup), idgate.ErrConflict)

	other := newFixture(t, s)
	_, err = s.GetUser(ctx, other.Pool.ID, full.Sub)
	wantErr(t, err, idgate.ErrNotFound) // the sub exists, but in another pool
	_, err = s.GetUser(ctx, f.Pool.ID, idgate.NewUUID())
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, f.Pool.ID, "nobody@example.com")
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, f.Pool.ID, "")
	wantErr(t, err, idgate.ErrNotFound) // users without an email are not found by ""
}

func testUserEmails(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	u := newUser(f, "Ada.Lovelace@Example.COM", t0)
	must(t, s.CreateUser(ctx, u))

	got, err := s.GetUser(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	if got.Email != "ada.lovelace@example.com" {
		t.Fatalf("stored email = %q, want it lower-cased", got.Email)
	}
	for _, email := range []string{"ada.lovelace@example.com", "ADA.LOVELACE@EXAMPLE.COM", "Ada.Lovelace@example.com"} {
		got, err := s.GetUserByEmail(ctx, f.Pool.ID, email)
		must(t, err)
		if got.Sub != u.Sub {
			t.Fatalf("GetUserByEmail(%q) = %s, want %s", email, got.Sub, u.Sub)
		}
	}

	wantErr(t, s.CreateUser(ctx, newUser(f, "ada.lovelace@EXAMPLE.com", t0)), idgate.ErrConflict)
	other := newFixture(t, s)
	must(t, s.CreateUser(ctx, newUser(other, "ada.lovelace@example.com", t0))) // unique per pool only

	// Any number of users may have no email.
	for range 3 {
		must(t, s.CreateUser(ctx, newUser(f, "", t0)))
	}
}

func testUpdateUser(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	u := newUser(f, "ada@example.com", t0)
	taken := newUser(f, "taken@example.com", t0)
	must(t, s.CreateUser(ctx, u))
	must(t, s.CreateUser(ctx, taken))

	want := u
	want.Username = "countess"
	want.Email = "countess@example.com"
	want.EmailVerified = false
	want.PasswordHash = "$argon2id$new"
	want.Status = idgate.StatusDisabled
	want.Profile = idgate.Profile{Name: "Countess of Lovelace"}
	want.Roles = []string{"viewer"}
	want.Groups = nil
	want.Actions = nil
	want.Attributes = []string{"a", "b"}
	want.TOTPSecret = nil
	want.UpdatedAt = at(time.Hour)
	update := want
	update.Email = "Countess@Example.com"
	got, err := s.UpdateUser(ctx, f.Pool.ID, u.Sub, func(old idgate.User) (idgate.User, error) {
		equal(t, "UpdateUser fn argument", old, u)
		return update, nil
	})
	must(t, err)
	equal(t, "UpdateUser result (email lower-cased)", got, want)
	stored, err := s.GetUser(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	equal(t, "user after UpdateUser", stored, want)
	_, err = s.GetUserByEmail(ctx, f.Pool.ID, "ada@example.com")
	wantErr(t, err, idgate.ErrNotFound) // the old email is free

	_, err = s.UpdateUser(ctx, f.Pool.ID, u.Sub, func(x idgate.User) (idgate.User, error) {
		x.Email = "TAKEN@example.com"
		return x, nil
	})
	wantErr(t, err, idgate.ErrConflict)
	_, err = s.UpdateUser(ctx, f.Pool.ID, u.Sub, func(x idgate.User) (idgate.User, error) {
		x.Username = "never"
		return x, errBoom
	})
	wantErr(t, err, errBoom)
	stored, err = s.GetUser(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	equal(t, "user after a conflict and a failed fn", stored, want)

	_, err = s.UpdateUser(ctx, f.Pool.ID, idgate.NewUUID(), func(x idgate.User) (idgate.User, error) {
		t.Error("UpdateUser called fn for an unknown user")
		return x, nil
	})
	wantErr(t, err, idgate.ErrNotFound)
}

// testUpdateUserConcurrent: concurrent read-modify-write updates of one
// user must not lose each other's changes.
func testUpdateUserConcurrent(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	u := newUser(f, "", t0)
	u.Roles = nil
	must(t, s.CreateUser(ctx, u))
	const n = 10
	errs := make([]error, n)
	parallel(n, func(i int) {
		_, errs[i] = s.UpdateUser(ctx, f.Pool.ID, u.Sub, func(x idgate.User) (idgate.User, error) {
			x.Roles = append(x.Roles, fmt.Sprintf("role-%02d", i))
			return x, nil
		})
	})
	for _, err := range errs {
		must(t, err)
	}
	got, err := s.GetUser(ctx, f.Pool.ID, u.Sub)
	must(t, err)
	slices.Sort(got.Roles)
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("role-%02d", i))
	}
	equal(t, "roles after concurrent updates", got.Roles, want)
}

func testListUsers(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	var want []idgate.User
	for i := range 25 {
		// Pairs share a creation time, so the sub decides their order.
		u := newUser(f, fmt.Sprintf("user%02d@example.com", i), at(time.Duration(i/2)*time.Second))
		must(t, s.CreateUser(ctx, u))
		want = append(want, u)
	}
	must(t, s.CreateUser(ctx, newUser(newFixture(t, s), "elsewhere@example.com", t0)))
	slices.SortFunc(want, func(a, b idgate.User) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.Sub, b.Sub))
	})

	var got []idgate.User
	var sizes []int
	cursor := ""
	for range 10 {
		page, err := s.ListUsers(ctx, f.Pool.ID, cursor, 10)
		must(t, err)
		got = append(got, page.Users...)
		sizes = append(sizes, len(page.Users))
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	equal(t, "page sizes", sizes, []int{10, 10, 5})
	equal(t, "users over all pages, by (created_at, sub)", got, want)

	page, err := s.ListUsers(ctx, f.Pool.ID, "", 0)
	must(t, err)
	if len(page.Users) != 25 || page.Next != "" {
		t.Fatalf("ListUsers with the default limit: %d users, next %q; want all 25 and no next", len(page.Users), page.Next)
	}
	page, err = s.ListUsers(ctx, "eu_nothing00", "", 10)
	must(t, err)
	if len(page.Users) != 0 || page.Next != "" {
		t.Fatalf("ListUsers of an unknown pool = %+v", page)
	}
	if _, err := s.ListUsers(ctx, f.Pool.ID, "not a cursor!", 10); err == nil {
		t.Fatal("ListUsers accepted a malformed cursor")
	}
}

func testDeleteUser(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	u := newUser(f, "gone@example.com", t0)
	keep := newUser(f, "kept@example.com", t0)
	must(t, s.CreateUser(ctx, u))
	must(t, s.CreateUser(ctx, keep))
	sess := newSession(f, u.Sub, "sid_1", t0)
	must(t, s.CreateSession(ctx, sess))

	must(t, s.DeleteUser(ctx, f.Pool.ID, u.Sub))
	_, err := s.GetUser(ctx, f.Pool.ID, u.Sub)
	wantErr(t, err, idgate.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, f.Pool.ID, u.Email)
	wantErr(t, err, idgate.ErrNotFound)
	wantErr(t, s.DeleteUser(ctx, f.Pool.ID, u.Sub), idgate.ErrNotFound)
	_, err = s.GetUser(ctx, f.Pool.ID, keep.Sub)
	must(t, err)

	// The session history keeps the sub.
	got, err := s.GetSession(ctx, sess.ID)
	must(t, err)
	equal(t, "session of the deleted user", got, sess)
	// The email can be used again.
	must(t, s.CreateUser(ctx, newUser(f, u.Email, t0)))
}
