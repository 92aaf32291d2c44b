package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idgate/idgate/internal/bench"
)

// TestCrashSafetySQLite kills a server on SQLite with SIGKILL in the middle
// of refreshes, revocations, attribute updates and sign-ins, restarts it
// on the same data directory, and checks every acknowledged write.
func TestCrashSafetySQLite(t *testing.T) {
	t.Parallel()
	crashSafety(t, nodeConfig{dataDir: t.TempDir()})
}

// TestCrashSafetyPostgres is the same against PostgreSQL (a fresh schema).
func TestCrashSafetyPostgres(t *testing.T) {
	t.Parallel()
	crashSafety(t, nodeConfig{dataDir: t.TempDir(), databaseURL: newSchema(t)})
}

// sessionLedger is what the server acknowledged about one session. Each
// is owned by one worker while the load runs.
type sessionLedger struct {
	tokens      bench.Tokens
	refreshed   []string // access tokens of acknowledged refreshes
	revokeSent  bool
	revokeAcked bool
}

// attrLedger is what the server acknowledged about one user's "name".
type attrLedger struct {
	email    string
	reader   bench.Tokens // a session never revoked, to read the user back
	acked    int          // last acknowledged value (0: none)
	inFlight int          // value sent without an answer (0: none)
}

func crashSafety(t *testing.T, cfg nodeConfig) {
	const (
		users           = 4
		sessionsPerUser = 4
		loadFor         = 1500 * time.Millisecond
	)
	n := startNode(t, cfg)
	sb := newSandbox(t, n, users)
	var sessions []*sessionLedger
	attrs := make([]*attrLedger, users)
	for u, email := range sb.users {
		attrs[u] = &attrLedger{email: email, reader: sb.signIn(t, email)}
		for range sessionsPerUser {
			sessions = append(sessions, &sessionLedger{tokens: sb.signIn(t, email)})
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range sessions {
		// Refresh, then revoke: a third of the sessions early (well before
		// the kill, even on a loaded machine), a third at a random moment
		// (some in flight at the kill), a third never.
		var revokeAt time.Time
		switch i % 3 {
		case 0:
			revokeAt = start.Add(time.Duration(100+rand.IntN(400)) * time.Millisecond)
		case 1:
			revokeAt = start.Add(time.Duration(200+rand.IntN(2800)) * time.Millisecond)
		default:
			revokeAt = start.Add(time.Hour)
		}
		wg.Go(func() { refreshThenRevoke(ctx, sb.api, sb.creds, s, revokeAt) })
	}
	for _, a := range attrs {
		wg.Go(func() { updateName(ctx, sb.api, sb.creds.UserPoolID, a) })
	}
	var signedIn syncLog[bench.Tokens]
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			tk, err := sb.c.SignIn(ctx, sb.users[i%users], password)
			if err != nil {
				return
			}
			signedIn.add(tk)
		}
	})
	time.Sleep(loadFor)
	n.kill()
	cancel()
	wg.Wait()

	n = startNode(t, cfg)
	a := newAPI(n.url, sb.creds.APIKey)
	var revoked, refreshes, kept int
	for _, s := range sessions {
		refreshes += len(s.refreshed)
		all := append([]string{s.tokens.AccessToken}, s.refreshed...)
		switch {
		case s.revokeAcked:
			revoked++
			for _, at := range all {
				if v := a.mustVerify(t, at); v.Active || !v.Revoked {
					t.Errorf("a token of a session whose revocation was acknowledged verifies as %+v after the crash", v)
				}
			}
			var e struct{ Error string }
			status, err := a.post(ctx2(), "refreshaccesstoken", refreshBody(sb.creds, s.tokens.RefreshToken), &e)
			if err != nil || status != http.StatusBadRequest || e.Error != "invalid_grant" {
				t.Errorf("refresh of a revoked session after the crash: status %d %q %v, want 400 invalid_grant", status, e.Error, err)
			}
		case !s.revokeSent:
			kept++
			for _, at := range all {
				if v := a.mustVerify(t, at); !v.Active {
					t.Errorf("an acknowledged token of a live session verifies as %+v after the crash", v)
				}
			}
		}
		// Revocation sent but not answered: either outcome is correct.
	}
	for _, tk := range signedIn.all() {
		if v := a.mustVerify(t, tk.AccessToken); !v.Active {
			t.Errorf("a session whose sign-in was acknowledged verifies as %+v after the crash", v)
		}
	}
	var updates int
	for _, at := range attrs {
		updates += at.acked
		var info map[string]any
		status, err := a.post(ctx2(), "userinfofromaccesstoken", map[string]string{"accessToken": at.reader.AccessToken}, &info)
		if err != nil || status != http.StatusOK {
			t.Fatalf("userinfo after the crash: status %d %v", status, err)
		}
		got, _ := info["name"].(string)
		want := []string{nameValue(at.acked)}
		if at.inFlight != 0 {
			want = append(want, nameValue(at.inFlight))
		}
		if at.acked == 0 && got == "" {
			continue
		}
		if !contains(want, got) {
			t.Errorf("user %s: name %q after the crash, want one of %q (last acknowledged, in flight)", at.email, got, want)
		}
	}
	t.Logf("acknowledged before SIGKILL: %d refreshes, %d revocations (%d sessions untouched), %d attribute updates, %d sign-ins",
		refreshes, revoked, kept, updates, len(signedIn.all()))
	if refreshes == 0 || revoked == 0 || updates == 0 {
		t.Fatalf("the load did too little to test anything: %d refreshes, %d revocations, %d updates", refreshes, revoked, updates)
	}
}

func ctx2() context.Context { return context.Background() }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func nameValue(i int) string {
	if i == 0 {
		return ""
	}
	return "name-" + strconv.Itoa(i)
}

func refreshBody(c bench.Credentials, refreshToken string) map[string]string {
	return map[string]string{"refreshToken": refreshToken, "clientId": c.ClientID, "clientSecret": c.ClientSecret}
}

// refreshThenRevoke refreshes the session until revokeAt, then revokes it
// (scope session), recording what was acknowledged. It stops at the first
// failure: after that, nothing it sends is acknowledged.
func refreshThenRevoke(ctx context.Context, a *api, c bench.Credentials, s *sessionLedger, revokeAt time.Time) {
	for ctx.Err() == nil {
		if time.Now().After(revokeAt) {
			s.revokeSent = true
			var out struct {
				RevokedSessions int `json:"revokedSessions"`
			}
			status, err := a.post(ctx, "revokeaccesstoken", map[string]string{"accessToken": s.tokens.AccessToken, "scope": "session"}, &out)
			s.revokeAcked = err == nil && status == http.StatusOK && out.RevokedSessions == 1
			return
		}
		var tk bench.Tokens
		status, err := a.post(ctx, "refreshaccesstoken", refreshBody(c, s.tokens.RefreshToken), &tk)
		if err != nil || status != http.StatusOK {
			return
		}
		s.refreshed = append(s.refreshed, tk.AccessToken)
	}
}

// updateName sets the user's name to name-1, name-2, ... one at a time.
func updateName(ctx context.Context, a *api, poolID string, at *attrLedger) {
	for i := 1; ctx.Err() == nil; i++ {
		at.inFlight = i
		status, err := a.post(ctx, "updateuserattribute", map[string]string{"email": at.email, "userPoolId": poolID, "name": nameValue(i)}, nil)
		if err != nil || status != http.StatusOK {
			return
		}
		at.acked, at.inFlight = i, 0
	}
}

// String makes failures readable.
func (s *sessionLedger) String() string {
	return fmt.Sprintf("session(refreshed %d, revoke sent %v acked %v, token %s…)", len(s.refreshed), s.revokeSent, s.revokeAcked,
		strings.SplitN(s.tokens.AccessToken, ".", 2)[0])
}
