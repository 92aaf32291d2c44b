package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/idgate/idgate/internal/idgate"
)

// Limits on attribute values.
const (
	maxValueLen = 2048
	maxListLen  = 100
	maxItemLen  = 256
)

var (
	e164      = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	birthdate = regexp.MustCompile(`^[0-9]{4}(-[0-9]{2}-[0-9]{2})?$`)
)

func validEmail(e string) bool {
	if len(e) > 254 || strings.ContainsAny(e, " \t\r\n<>\"") {
		return false
	}
	a, err := mail.ParseAddress(e)
	return err == nil && a.Address == e && strings.Contains(e[strings.LastIndex(e, "@"):], ".")
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// AttributeUpdate is a parsed updateuserattribute request: who, and the raw
// JSON value of each attribute to change.
type AttributeUpdate struct {
	PoolID string
	Email  string // identifies the user, unless Sub is given
	Sub    string // when given, identifies the user and Email becomes a change
	Values map[string]json.RawMessage
}

// stringAttrs are the OIDC standard claims that are plain strings, with the
// check each value must pass (nil: any text).
var stringAttrs = map[string]func(string) string{
	"name": nil, "given_name": nil, "family_name": nil, "middle_name": nil, "nickname": nil,
	"preferred_username": nil, "gender": nil,
	"picture": func(v string) string { return check(validURL(v), "must be an http(s) URL") },
	"website": func(v string) string { return check(validURL(v), "must be an http(s) URL") },
	"birthdate": func(v string) string {
		if !birthdate.MatchString(v) {
			return "must be an ISO 8601 date (YYYY-MM-DD, or YYYY)"
		}
		if len(v) == 10 {
			check := v
			if strings.HasPrefix(v, "0000") { // year omitted: the month and day must still exist (2000 is a leap year)
				check = "2000" + v[4:]
			}
			if _, err := time.Parse("2006-01-02", check); err != nil {
				return "is not a real date"
			}
		}
		return ""
	},
	"zoneinfo": func(v string) string {
		_, err := time.LoadLocation(v)
		return check(err == nil && v != "Local" && v != "", "must be an IANA time zone such as Europe/Paris")
	},
	"locale": func(v string) string {
		_, err := language.Parse(strings.ReplaceAll(v, "_", "-"))
		return check(err == nil, "must be a BCP 47 language tag such as en-US")
	},
	"phone_number": func(v string) string {
		return check(e164.MatchString(normalizePhone(v)), "must be an E.164 phone number such as +14255551212")
	},
}

// listAttrs maps the request names of the RBAC lists to the claim they fill.
var listAttrs = map[string]string{"roles": "roles", "groups": "groups", "action": "actions", "actions": "actions", "attributes": "attributes"}

func check(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg
}

// UpdateAttributes validates every value and, only if all are valid, stores
// them in one transaction with an event naming the changed fields (not
// their values). Changing the email clears email_verified.
func (s *Service) UpdateAttributes(ctx context.Context, projectID string, in AttributeUpdate, actor idgate.Actor) (idgate.User, error) {
	pool, err := s.poolOfProject(ctx, projectID, in.PoolID)
	if err != nil {
		return idgate.User{}, err
	}
	values := in.Values
	if in.Sub != "" && in.Email != "" {
		values = withValue(values, "email", in.Email)
	}
	apply, changed, err := parseAttributes(values)
	if err != nil {
		return idgate.User{}, err
	}
	target, err := s.findUser(ctx, pool.ID, in.Email, in.Sub)
	if err != nil {
		return idgate.User{}, err
	}
	u, err := s.updateUser(ctx, pool, target.Sub, func(u idgate.User) (idgate.User, error) {
		before := u.Email
		if err := apply(&u); err != nil {
			return u, err
		}
		if u.Email != before {
			u.EmailVerified = false
		}
		u.UpdatedAt = s.now()
		return u, nil
	}, idgate.EventAttributesUpdated, actor, map[string]any{"fields": changed})
	if errors.Is(err, idgate.ErrConflict) {
		return idgate.User{}, idgate.ConflictError("another user of the pool has this email")
	}
	return u, err
}

func withValue(m map[string]json.RawMessage, k, v string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	b, _ := json.Marshal(v)
	out[k] = b
	return out
}

// updateUser runs fn on the user and records the event, in one transaction.
func (s *Service) updateUser(ctx context.Context, pool idgate.Pool, sub string, fn func(idgate.User) (idgate.User, error), typ string, actor idgate.Actor, data map[string]any) (idgate.User, error) {
	var out idgate.User
	err := s.store.InTx(ctx, func(tx idgate.Store) error {
		u, err := tx.UpdateUser(ctx, pool.ID, sub, fn)
		if err != nil {
			return err
		}
		out = u
		return s.event(ctx, tx, pool, typ, actor, sub, data)
	})
	return out, err
}

// parseAttributes checks every name and value and returns a function that
// applies them to a user, and the sorted names of the fields it changes.
// Problems are reported all at once, unknown names listed by name.
func parseAttributes(values map[string]json.RawMessage) (func(*idgate.User) error, []string, error) {
	var unknown, problems, names []string
	var steps []func(*idgate.User)
	for name, raw := range values {
		step, problem := parseAttribute(name, raw)
		switch {
		case problem == "unknown":
			unknown = append(unknown, name)
		case problem != "":
			problems = append(problems, name+": "+problem)
		default:
			steps = append(steps, step)
			names = append(names, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, nil, &idgate.Error{Code: idgate.CodeInvalidRequest, Field: unknown[0],
			Description: "unknown attribute(s): " + strings.Join(unknown, ", ")}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, nil, &idgate.Error{Code: idgate.CodeInvalidRequest, Field: strings.SplitN(problems[0], ":", 2)[0],
			Description: strings.Join(problems, "; ")}
	}
	if len(steps) == 0 {
		return nil, nil, idgate.InvalidRequest("attributes", "no attribute to update was given")
	}
	sort.Strings(names)
	return func(u *idgate.User) error {
		for _, st := range steps {
			st(u)
		}
		return nil
	}, names, nil
}

// parseAttribute returns the change one attribute makes, or a problem
// ("unknown" for a name that is not an attribute).
func parseAttribute(name string, raw json.RawMessage) (func(*idgate.User), string) {
	if claim, ok := listAttrs[name]; ok {
		list, problem := parseList(raw)
		if problem != "" {
			return nil, problem
		}
		return func(u *idgate.User) {
			switch claim {
			case "roles":
				u.Roles = list
			case "groups":
				u.Groups = list
			case "actions":
				u.Actions = list
			case "attributes":
				u.Attributes = list
			}
		}, ""
	}
	switch name {
	case "email_verified", "phone_number_verified":
		b, problem := parseBool(raw)
		if problem != "" {
			return nil, problem
		}
		return func(u *idgate.User) {
			if name == "email_verified" {
				u.EmailVerified = b
			} else {
				u.Profile.PhoneNumberVerified = b
			}
		}, ""
	case "address":
		a, problem := parseAddress(raw)
		if problem != "" {
			return nil, problem
		}
		return func(u *idgate.User) { u.Profile.Address = a }, ""
	case "email":
		v, problem := parseString(raw)
		if problem != "" {
			return nil, problem
		}
		v = strings.ToLower(v)
		if !validEmail(v) {
			return nil, "is not a valid email address"
		}
		return func(u *idgate.User) { u.Email = v }, ""
	case "updated_at", "sub", "username":
		return nil, "is set by the server and cannot be changed"
	}
	validate, ok := stringAttrs[name]
	if !ok {
		return nil, "unknown"
	}
	v, problem := parseString(raw)
	if problem != "" {
		return nil, problem
	}
	if v != "" && validate != nil {
		if p := validate(v); p != "" {
			return nil, p
		}
	}
	if name == "phone_number" {
		v = normalizePhone(v)
	}
	return func(u *idgate.User) { setProfileString(&u.Profile, name, v) }, ""
}

// normalizePhone removes the spaces, dashes, dots and parentheses people
// write in phone numbers ("+1 (425) 555-1212", the documents' own example)
// so the stored value is plain E.164 ("+14255551212").
func normalizePhone(v string) string {
	if !strings.HasPrefix(v, "+") {
		return v
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, v)
}

func setProfileString(p *idgate.Profile, name, v string) {
	fields := map[string]*string{
		"name": &p.Name, "given_name": &p.GivenName, "family_name": &p.FamilyName, "middle_name": &p.MiddleName,
		"nickname": &p.Nickname, "preferred_username": &p.PreferredUsername, "picture": &p.Picture,
		"website": &p.Website, "gender": &p.Gender, "birthdate": &p.Birthdate, "zoneinfo": &p.Zoneinfo,
		"locale": &p.Locale, "phone_number": &p.PhoneNumber,
	}
	*fields[name] = v
}

func parseString(raw json.RawMessage) (string, string) {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", "must be a string"
	}
	v = strings.TrimSpace(v)
	if len(v) > maxValueLen {
		return "", fmt.Sprintf("must be at most %d bytes", maxValueLen)
	}
	return v, ""
}

func parseBool(raw json.RawMessage) (bool, string) {
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true, ""
		case "false":
			return false, ""
		}
	}
	return false, "must be a boolean (true or false)"
}

// parseList accepts the documents' comma-separated string or a JSON array
// of strings; items are trimmed, empties dropped, duplicates removed.
func parseList(raw json.RawMessage) ([]string, string) {
	var items []string
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		items = strings.Split(s, ",")
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return nil, "must be a comma-separated string or an array of strings"
	}
	out := []string{}
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "" || slices.Contains(out, it) {
			continue
		}
		if len(it) > maxItemLen {
			return nil, fmt.Sprintf("items must be at most %d bytes", maxItemLen)
		}
		out = append(out, it)
	}
	if len(out) > maxListLen {
		return nil, fmt.Sprintf("must have at most %d items", maxListLen)
	}
	return out, ""
}

// parseAddress accepts an address object, or a string holding one as JSON,
// or a plain string taken as the formatted address. null or "" clears it.
func parseAddress(raw json.RawMessage) (*idgate.Address, string) {
	if string(raw) == "null" {
		return nil, ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, ""
		}
		if !strings.HasPrefix(s, "{") {
			if len(s) > maxValueLen {
				return nil, fmt.Sprintf("must be at most %d bytes", maxValueLen)
			}
			return &idgate.Address{Formatted: s}, ""
		}
		raw = json.RawMessage(s)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var a idgate.Address
	if err := dec.Decode(&a); err != nil {
		return nil, "must be an address object with formatted, street_address, locality, region, postal_code, country"
	}
	if len(a.Formatted)+len(a.StreetAddress)+len(a.Locality)+len(a.Region)+len(a.PostalCode)+len(a.Country) > maxValueLen {
		return nil, fmt.Sprintf("must be at most %d bytes in all", maxValueLen)
	}
	return &a, ""
}

// poolOfProject loads a pool and checks that it belongs to the caller's
// project; another project's pool is reported as not found.
func (s *Service) poolOfProject(ctx context.Context, projectID, poolID string) (idgate.Pool, error) {
	if poolID == "" {
		return idgate.Pool{}, idgate.InvalidRequest("userPoolId", "is required")
	}
	pool, err := s.store.GetPool(ctx, poolID)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && projectID != "" && pool.ProjectID != projectID) {
		return idgate.Pool{}, idgate.NotFoundError("no user pool " + poolID + " in this project")
	}
	return pool, err
}

// findUser finds a user by sub when given, else by email.
func (s *Service) findUser(ctx context.Context, poolID, email, sub string) (idgate.User, error) {
	var u idgate.User
	var err error
	switch {
	case sub != "":
		u, err = s.store.GetUser(ctx, poolID, sub)
	case email != "":
		u, err = s.store.GetUserByEmail(ctx, poolID, strings.ToLower(strings.TrimSpace(email)))
	default:
		return u, idgate.InvalidRequest("email", "is required (or sub)")
	}
	if errors.Is(err, idgate.ErrNotFound) {
		return u, idgate.NotFoundError("no such user in the pool")
	}
	return u, err
}
