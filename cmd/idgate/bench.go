package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/idgate/idgate/internal/bench"
	"github.com/idgate/idgate/internal/config"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/tenant"
)

// benchPassword is the password of the users `idgate bench` creates, and
// the default shared password of the users `idgate bench seed` creates.
const benchPassword = "idgate-bench-password-7f3a9c"

// benchOps are the operations `idgate bench --op` accepts, in the order
// they run when several are asked for (baseline first, so that verify can
// be compared with it).
var benchOps = []string{"baseline", "verify", "userinfo", "refresh", "code", "login", "mixed", "storm"}

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load-test a running idgate server",
		Long: `Drive a running idgate through real flows with N concurrent workers for a fixed
time and print, per operation: concurrency, requests/s, p50, p90, p99 latency
and errors (--json for machines). Progress is shown on stderr.

Operations (--op, comma-separated):
  baseline  GET /bench/baseline, a trivial handler: the HTTP ceiling of the machine
  verify    POST /v2/sessionmgt/verifyaccesstoken
  userinfo  POST /v2/sessionmgt/userinfofromaccesstoken
  refresh   POST /v2/sessionmgt/refreshaccesstoken (confidential app)
  code      hosted login (code URL, login page, form POST) + gettokenfromcode
  login     hosted login only (password, argon2id), ending on the code redirect
  mixed     80% verify, 10% userinfo, 9.5% refresh, 0.5% code
  storm     verify at --concurrency while --storm-concurrency workers log in
            (argon2id): shows whether logins starve verification

Credentials: with --admin-token, bench creates its own sandbox project (MFA off,
--alg signing) and --users users through the admin API. Otherwise pass the
project's --api-key, --client-id, --client-secret and a user's --email and
--password, or --seeded-users N for users made by 'idgate bench seed'.
Before measuring, bench signs in --sessions times to get tokens.

The hosted login limits sign-ins per client IP. To load-test logins from one
machine, start the server with --trust-proxy and pass --forwarded-for: each
login then comes from its own made-up address.`,
		Example: `  idgate bench --url http://127.0.0.1:8080 --admin-token "$(cat idgate-data/admin.token)" \
      --alg ES256 --op baseline,verify,refresh,code --concurrency 64 --duration 10s`,
		RunE: runBench,
	}
	f := cmd.Flags()
	f.String("url", "http://127.0.0.1:8080", "base URL of the idgate server")
	f.String("op", "baseline,verify,userinfo,refresh,mixed", "operations to run: "+strings.Join(benchOps, ","))
	f.String("concurrency", "64", "concurrent workers; a comma list runs each operation at each level")
	f.Duration("duration", 10*time.Second, "measured time per operation and concurrency")
	f.Duration("warmup", 2*time.Second, "unmeasured warm-up before each measurement")
	f.Int("storm-concurrency", 16, "login workers of the storm operation")
	f.String("admin-token", os.Getenv("IDGATE_ADMIN_TOKEN"), "admin API token: create a sandbox project and users [IDGATE_ADMIN_TOKEN]")
	f.String("alg", "ES256", "signing algorithm of the sandbox project: RS256, ES256 or EdDSA")
	f.Int("users", 8, "users to create in the sandbox project")
	f.Int("sessions", 32, "sessions to sign in before measuring (tokens for verify, userinfo, refresh)")
	f.String("api-key", "", "x-api-key of an existing project (instead of --admin-token)")
	f.String("client-id", "", "client id of the project's app")
	f.String("client-secret", "", "client secret of the project's app (web apps)")
	f.String("email", "", "email of an existing user (MFA off)")
	f.String("password", benchPassword, "password of --email, or of the seeded users")
	f.Int("seeded-users", 0, "sign in as random users among the first N made by 'idgate bench seed'")
	f.String("label", "", "free text recorded in the JSON report (e.g. \"sqlite ES256\")")
	f.Bool("forwarded-for", false, "give every hosted login its own made-up client IP (X-Forwarded-For), so the per-IP\nsign-in rate limit does not cap the login, code and storm operations; the server must run with --trust-proxy")
	f.Bool("json", false, "print the results as JSON")
	f.Bool("quiet", false, "no progress on stderr")
	cmd.AddCommand(benchSeedCmd())
	return cmd
}

// benchRun is one configured bench session against a server.
type benchRun struct {
	c        *bench.Client
	users    []userCred
	sessions []bench.Tokens
	verify   [][]byte // prepared verify/userinfo bodies, one per session
	refresh  [][]byte // prepared refresh bodies, one per session
}

type userCred struct{ email, password string }

func runBench(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	ctx := cmd.Context()
	opList, _ := f.GetString("op")
	ops, err := parseOps(opList)
	if err != nil {
		return err
	}
	concStr, _ := f.GetString("concurrency")
	levels, err := parseLevels(concStr)
	if err != nil {
		return err
	}
	storm, _ := f.GetInt("storm-concurrency")
	base, _ := f.GetString("url")
	maxC := storm
	for _, l := range levels {
		maxC = max(maxC, l+storm)
	}
	fwd, _ := f.GetBool("forwarded-for")
	run := &benchRun{c: &bench.Client{BaseURL: strings.TrimRight(base, "/"), HTTP: bench.NewHTTPClient(maxC), ForwardedFor: fwd}}
	quiet, _ := f.GetBool("quiet")
	var progress io.Writer = cmd.ErrOrStderr()
	if quiet {
		progress = nil
	}
	logf := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
		}
	}
	if err := run.setup(ctx, cmd, ops, logf); err != nil {
		return err
	}

	dur, _ := f.GetDuration("duration")
	warm, _ := f.GetDuration("warmup")
	opts := bench.Options{Duration: dur, Warmup: warm, Progress: progress}
	alg, _ := f.GetString("alg")
	label, _ := f.GetString("label")
	report := bench.Report{URL: run.c.BaseURL, Label: label, SigningAlg: alg}
	if admin, _ := f.GetString("admin-token"); admin == "" {
		report.SigningAlg = "" // not ours to know
	}
	for _, op := range ops {
		for _, c := range levels {
			loads := run.loads(op, c, storm)
			res := bench.Run(ctx, opts, loads...)
			if progress != nil {
				fmt.Fprintln(progress)
			}
			report.Results = append(report.Results, res...)
			if ctx.Err() != nil {
				break
			}
		}
	}
	if asJSON, _ := f.GetBool("json"); asJSON {
		return report.WriteJSON(cmd.OutOrStdout())
	}
	if err := report.WriteTable(cmd.OutOrStdout()); err != nil {
		return err
	}
	printRatios(cmd.OutOrStdout(), report.Results)
	return nil
}

// printRatios prints verify throughput as a share of the baseline's at the
// same concurrency (SPEC §9: at least 50 %).
func printRatios(w io.Writer, results []bench.Result) {
	base := map[int]float64{}
	for _, r := range results {
		if r.Operation == "baseline" {
			base[r.Concurrency] = r.RPS
		}
	}
	for _, r := range results {
		if r.Operation == "verify" && base[r.Concurrency] > 0 {
			fmt.Fprintf(w, "verify at %d workers: %.0f%% of baseline\n", r.Concurrency, 100*r.RPS/base[r.Concurrency])
		}
	}
}

func parseOps(s string) ([]string, error) {
	want := map[string]bool{}
	for _, op := range strings.Split(s, ",") {
		op = strings.TrimSpace(op)
		if op == "" {
			continue
		}
		if !contains(benchOps, op) {
			return nil, fmt.Errorf("--op: unknown operation %q (have %s)", op, strings.Join(benchOps, ", "))
		}
		want[op] = true
	}
	var out []string
	for _, op := range benchOps {
		if want[op] {
			out = append(out, op)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--op: no operation given")
	}
	return out, nil
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 10000 {
			return nil, fmt.Errorf("--concurrency: %q is not a number from 1 to 10000", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// setup finds or creates the project and users, and signs in the sessions
// the token operations use.
func (b *benchRun) setup(ctx context.Context, cmd *cobra.Command, ops []string, logf func(string, ...any)) error {
	f := cmd.Flags()
	admin, _ := f.GetString("admin-token")
	password, _ := f.GetString("password")
	if admin != "" {
		alg, _ := f.GetString("alg")
		nUsers, _ := f.GetInt("users")
		creds, err := b.c.CreateSandbox(ctx, admin, "idgate bench "+time.Now().UTC().Format(time.RFC3339), alg)
		if err != nil {
			return fmt.Errorf("create sandbox project: %w", err)
		}
		logf("bench: sandbox project %s, pool %s, client %s (%s)", creds.ProjectID, creds.UserPoolID, creds.ClientID, alg)
		b.users = make([]userCred, max(nUsers, 1))
		err = parallel(4, len(b.users), func(i int) error {
			b.users[i] = userCred{fmt.Sprintf("bench-%d-%s@bench.invalid", i, creds.UserPoolID), benchPassword}
			return b.c.CreateUser(ctx, admin, creds.UserPoolID, b.users[i].email, benchPassword)
		})
		if err != nil {
			return fmt.Errorf("create users: %w", err)
		}
	} else {
		b.c.APIKey, _ = f.GetString("api-key")
		b.c.ClientID, _ = f.GetString("client-id")
		b.c.ClientSecret, _ = f.GetString("client-secret")
		email, _ := f.GetString("email")
		seeded, _ := f.GetInt("seeded-users")
		if b.c.APIKey == "" || b.c.ClientID == "" {
			return errors.New("pass --admin-token, or --api-key and --client-id (and --client-secret for web apps)")
		}
		switch {
		case seeded > 0:
			for range 64 {
				b.users = append(b.users, userCred{sqlstore.SeedEmail(rand.IntN(seeded)), password})
			}
		case email != "":
			b.users = []userCred{{email, password}}
		default:
			return errors.New("pass a user: --email and --password, or --seeded-users N")
		}
	}
	if !needsSessions(ops) {
		return nil
	}
	n, _ := f.GetInt("sessions")
	n = max(n, 1)
	b.sessions = make([]bench.Tokens, n)
	start := time.Now()
	err := parallel(4, n, func(i int) error {
		u := b.users[i%len(b.users)]
		t, err := b.c.SignIn(ctx, u.email, u.password)
		b.sessions[i] = t
		return err
	})
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	logf("bench: %d sessions signed in in %s", n, time.Since(start).Round(time.Millisecond))
	for _, t := range b.sessions {
		b.verify = append(b.verify, bench.AccessTokenBody(t.AccessToken))
		b.refresh = append(b.refresh, b.c.RefreshBody(t.RefreshToken))
	}
	return nil
}

func needsSessions(ops []string) bool {
	for _, op := range ops {
		switch op {
		case "verify", "userinfo", "refresh", "mixed", "storm":
			return true
		}
	}
	return false
}

// parallel runs fn(0..n-1) on at most k goroutines and returns the first error.
func parallel(k, n int, fn func(i int) error) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next int
		ferr error
	)
	for range min(k, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := ferr != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					ferr = errors.Join(ferr, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return ferr
}

// loads returns what one measurement of op at concurrency c runs.
func (b *benchRun) loads(op string, c, storm int) []bench.Load {
	c0 := b.c
	user := func(w int) userCred { return b.users[w%len(b.users)] }
	verify := func(ctx context.Context, w int) error { return c0.Verify(ctx, b.verify[w%len(b.verify)]) }
	login := func(ctx context.Context, w int) error {
		u := user(w)
		_, err := c0.Login(ctx, u.email, u.password)
		return err
	}
	code := func(ctx context.Context, w int) error {
		u := user(w)
		_, err := c0.SignIn(ctx, u.email, u.password)
		return err
	}
	userinfo := func(ctx context.Context, w int) error { return c0.UserInfo(ctx, b.verify[w%len(b.verify)]) }
	refresh := func(ctx context.Context, w int) error { return c0.Refresh(ctx, b.refresh[w%len(b.refresh)]) }
	switch op {
	case "baseline":
		return []bench.Load{{Name: op, Concurrency: c, Op: func(ctx context.Context, _ int) error { return c0.Baseline(ctx) }}}
	case "verify":
		return []bench.Load{{Name: op, Concurrency: c, Op: verify}}
	case "userinfo":
		return []bench.Load{{Name: op, Concurrency: c, Op: userinfo}}
	case "refresh":
		return []bench.Load{{Name: op, Concurrency: c, Op: refresh}}
	case "code":
		return []bench.Load{{Name: op, Concurrency: c, Op: code}}
	case "login":
		return []bench.Load{{Name: op, Concurrency: c, Op: login}}
	case "storm":
		return []bench.Load{
			{Name: "verify (during storm)", Concurrency: c, Op: verify},
			{Name: "login (storm)", Concurrency: storm, Op: login},
		}
	}
	// mixed: a realistic blend, chosen per request by each worker's own
	// random source (no lock between workers).
	rngs := make([]*rand.Rand, c)
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(uint64(i), 0x1d9a7e))
	}
	mixed := func(ctx context.Context, w int) error {
		switch x := rngs[w].IntN(1000); {
		case x < 800:
			return verify(ctx, w)
		case x < 900:
			return userinfo(ctx, w)
		case x < 995:
			return refresh(ctx, w)
		default:
			return code(ctx, w)
		}
	}
	return []bench.Load{{Name: op, Concurrency: c, Op: mixed}}
}

func benchSeedCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Create many users and sessions fast, for load tests",
		Long: `Insert --users confirmed users (and --sessions-per-user sessions each, with
refresh tokens) straight into the database in large batched transactions.
Run it with the server's storage flags (--data-dir or --database-url), before
starting the server on SQLite.

Every seeded user has the email seed-<9 digits>@bench.invalid and shares one
password (--password): its argon2id hash is computed once, so seeding is fast
while signing in still costs a real argon2id verification. Seeding writes no
audit events and sends no email; use it on sandbox projects only.

Without --pool, a sandbox project (MFA off, --alg) is created first and its
credentials are printed as JSON, ready for 'idgate bench --seeded-users N'.`,
		Example: `  idgate bench seed --data-dir ./bench-data --users 1000000 --sessions-per-user 1`,
		RunE:    runBenchSeed,
	}
	config.Register(cmd.Flags())
	f := cmd.Flags()
	f.Int("users", 1000, "users to create")
	f.Int("first", 0, "index of the first user (to grow an existing seed)")
	f.Int("sessions-per-user", 1, "active sessions (with refresh tokens) per user")
	f.String("pool", "", "existing user pool to seed (default: create a sandbox project)")
	f.String("client-id", "", "app of --pool the sessions belong to")
	f.String("alg", "ES256", "signing algorithm of the created project")
	f.String("password", benchPassword, "the password every seeded user shares")
	return cmd
}

func runBenchSeed(cmd *cobra.Command, _ []string) error {
	ctx := cmd.Context()
	cfg, err := config.Load(cmd.Flags(), os.Getenv)
	if err != nil {
		return err
	}
	f := cmd.Flags()
	n, _ := f.GetInt("users")
	first, _ := f.GetInt("first")
	perUser, _ := f.GetInt("sessions-per-user")
	poolID, _ := f.GetString("pool")
	clientID, _ := f.GetString("client-id")
	alg, _ := f.GetString("alg")
	password, _ := f.GetString("password")
	cfg.LogLevel = "error"
	a, err := open(ctx, cfg, newLogger(cfg, io.Discard))
	if err != nil {
		return err
	}
	defer a.store.Close()
	st, ok := a.store.(*sqlstore.Store)
	if !ok {
		return errors.New("bench seed needs the SQL store")
	}
	actor := idgate.Actor{Type: idgate.ActorAdmin, ID: "cli:bench-seed"}
	if poolID == "" {
		creds, err := a.tenants.CreateProject(ctx, tenant.NewProject{
			Name: "idgate bench seed", Environment: string(idgate.EnvSandbox), AppType: string(idgate.AppWeb),
			CallbackURLs: []string{"https://bench.invalid/callback"}, MFA: idgate.MFAOff, SigningAlg: alg,
		}, actor)
		if err != nil {
			return err
		}
		poolID, clientID = creds.UserPoolID, creds.ClientID
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(creds); err != nil {
			return err
		}
	}
	// One real argon2id hash, shared by every seeded user.
	hash, err := secret.NewHasher(secret.OWASPParams, 1).Hash(ctx, password)
	if err != nil {
		return err
	}
	start := time.Now()
	errw := cmd.ErrOrStderr()
	err = st.SeedUsers(ctx, sqlstore.Seed{
		PoolID: poolID, ClientID: clientID, First: first, N: n, SessionsPerUser: perUser,
		PasswordHash: hash, Now: time.Now(),
		Progress: func(done int) {
			el := time.Since(start).Seconds()
			fmt.Fprintf(errw, "\rseeded %d/%d users (%.0f users/s)   ", done, n, float64(done)/el)
		},
	})
	fmt.Fprintln(errw)
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(errw, "seeded %d users with %d sessions each into pool %s in %s (%.0f users/s)\n",
		n, perUser, poolID, el.Round(time.Millisecond), float64(n)/el.Seconds())
	return nil
}
