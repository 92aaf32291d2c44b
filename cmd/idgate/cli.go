package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/config"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/web"
)

// adminCall describes one administration command: what it does on the
// local database, and the admin API call that does the same on a server.
type adminCall struct {
	local  func(ctx context.Context, a *app, actor idgate.Actor) (any, error)
	method string
	path   string
	body   any
}

// addAdminFlags gives a command the storage flags plus --server and --json.
func addAdminFlags(cmd *cobra.Command) {
	config.Register(cmd.Flags())
	cmd.Flags().String("server", os.Getenv("IDGATE_SERVER"), "URL of a running idgate to manage through its admin API (with --admin-token) [IDGATE_SERVER]")
	cmd.Flags().Bool("json", false, "print the result as JSON")
}

// runAdmin executes c locally or against --server and prints the result.
func runAdmin(cmd *cobra.Command, c adminCall) error {
	cfg, err := config.Load(cmd.Flags(), os.Getenv)
	if err != nil {
		return err
	}
	server, _ := cmd.Flags().GetString("server")
	var out any
	if server != "" {
		out, err = remoteCall(cmd.Context(), strings.TrimRight(server, "/"), cfg.AdminToken, c)
	} else {
		cfg.LogLevel = "error"
		var a *app
		a, err = open(cmd.Context(), cfg, newLogger(cfg, io.Discard))
		if err != nil {
			return err
		}
		defer a.store.Close()
		out, err = c.local(cmd.Context(), a, idgate.Actor{Type: idgate.ActorAdmin, ID: "cli:" + currentUser()})
	}
	if err != nil {
		return err
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	return printResult(cmd.OutOrStdout(), out, asJSON)
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func remoteCall(ctx context.Context, server, token string, c adminCall) (any, error) {
	if token == "" {
		return nil, fmt.Errorf("--admin-token (or IDGATE_ADMIN_TOKEN) is required with --server")
	}
	var body io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, c.method, server+c.path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("%s: %s", e.Error, e.Description)
		}
		return nil, fmt.Errorf("server answered %s", resp.Status)
	}
	if len(raw) == 0 {
		return map[string]any{"ok": true}, nil
	}
	var out any
	return out, json.Unmarshal(raw, &out)
}

// printResult prints JSON, or "key: value" lines for humans.
func printResult(w io.Writer, v any, asJSON bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if asJSON {
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := m[k]
		if s, ok := val.(string); ok {
			fmt.Fprintf(w, "%-16s %s\n", k+":", s)
			continue
		}
		vb, _ := json.Marshal(val)
		fmt.Fprintf(w, "%-16s %s\n", k+":", vb)
	}
	return nil
}

func projectCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "Manage projects"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a project with its user pool, first app and API key",
		Long: `Create a project and print everything to save in one go:
projectId, userPoolId, userPoolDomain, clientId, clientSecret (web apps),
apiKey, codeURL and issuer. The client secret and API key are shown once.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			var in tenant.NewProject
			in.Name, _ = f.GetString("name")
			in.Environment, _ = f.GetString("env")
			in.AppType, _ = f.GetString("app-type")
			in.MFA, _ = f.GetString("mfa")
			in.SigningAlg, _ = f.GetString("alg")
			in.CallbackURLs, _ = f.GetStringSlice("callback-url")
			in.LogoutURLs, _ = f.GetStringSlice("logout-url")
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					return a.tenants.CreateProject(ctx, in, actor)
				},
				method: http.MethodPost, path: "/admin/api/projects", body: in,
			})
		},
	}
	create.Flags().String("name", "", "project name (required)")
	create.Flags().String("env", "development", "environment: development, sandbox or production")
	create.Flags().String("app-type", "web", "register type: web (confidential), spa or native (public, PKCE)")
	create.Flags().String("mfa", "required", "MFA policy: required, optional or off")
	create.Flags().String("alg", "RS256", "token signing algorithm: RS256, ES256 or EdDSA")
	create.Flags().StringSlice("callback-url", nil, "callback URL of the app (repeatable; required)")
	create.Flags().StringSlice("logout-url", nil, "logout URL of the app (repeatable)")
	addAdminFlags(create)

	list := &cobra.Command{
		Use:   "list",
		Short: "List projects",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, _ idgate.Actor) (any, error) {
					ps, err := a.store.ListProjects(ctx)
					if err != nil {
						return nil, err
					}
					out := []web.ProjectView{}
					for _, p := range ps {
						pool, err := a.store.GetPoolByProject(ctx, p.ID)
						if err != nil {
							return nil, err
						}
						out = append(out, web.ProjectView{ProjectID: p.ID, Name: p.Name, Environment: string(p.Environment), UserPoolID: pool.ID,
							Domain: pool.Domain, MFA: pool.MFAPolicy, SigningAlg: pool.SigningAlg, Issuer: a.tokens.Issuer(pool.ID), CreatedAt: p.CreatedAt})
					}
					return map[string]any{"projects": out}, nil
				},
				method: http.MethodGet, path: "/admin/api/projects",
			})
		},
	}
	addAdminFlags(list)
	cmd.AddCommand(create, list)
	return cmd
}

func appCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Manage app clients"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Register another app in a user pool",
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			pool, _ := f.GetString("pool")
			var in tenant.NewApp
			in.Name, _ = f.GetString("name")
			in.AppType, _ = f.GetString("app-type")
			in.CallbackURLs, _ = f.GetStringSlice("callback-url")
			in.LogoutURLs, _ = f.GetStringSlice("logout-url")
			in.BackchannelLogoutURI, _ = f.GetString("backchannel-logout-uri")
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					return a.tenants.CreateApp(ctx, pool, in, actor)
				},
				method: http.MethodPost, path: "/admin/api/pools/" + pool + "/apps", body: in,
			})
		},
	}
	create.Flags().String("pool", "", "user pool id (required)")
	create.Flags().String("name", "", "app name (required)")
	create.Flags().String("app-type", "web", "web, spa or native")
	create.Flags().StringSlice("callback-url", nil, "callback URL (repeatable; required)")
	create.Flags().StringSlice("logout-url", nil, "logout URL (repeatable)")
	create.Flags().String("backchannel-logout-uri", "", "URL receiving OIDC back-channel logout tokens")
	addAdminFlags(create)
	update := &cobra.Command{
		Use:   "update CLIENT_ID",
		Short: "Change an app's callback/logout URLs, back-channel logout URI and options",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			var in tenant.AppUpdate
			if f.Changed("callback-url") {
				v, _ := f.GetStringSlice("callback-url")
				in.CallbackURLs = &v
			}
			if f.Changed("logout-url") {
				v, _ := f.GetStringSlice("logout-url")
				in.LogoutURLs = &v
			}
			if f.Changed("backchannel-logout-uri") {
				v, _ := f.GetString("backchannel-logout-uri")
				in.BackchannelLogoutURI = &v
			}
			if f.Changed("hosted-session-survives-global-sign-out") {
				v, _ := f.GetBool("hosted-session-survives-global-sign-out")
				in.HostedSessionSurvivesGlobalSignOut = &v
			}
			id := args[0]
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					return a.tenants.UpdateApp(ctx, id, in, actor)
				},
				method: http.MethodPatch, path: "/admin/api/apps/" + id, body: in,
			})
		},
	}
	update.Flags().StringSlice("callback-url", nil, "replace the callback URLs (repeatable)")
	update.Flags().StringSlice("logout-url", nil, "replace the logout URLs (repeatable)")
	update.Flags().String("backchannel-logout-uri", "", "URL receiving OIDC back-channel logout tokens (empty to remove)")
	update.Flags().Bool("hosted-session-survives-global-sign-out", false, "keep the hosted login cookie alive after a global sign-out")
	addAdminFlags(update)
	cmd.AddCommand(create, update)
	return cmd
}

func userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user without the sign-up page (imports, tests, support)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			pool, _ := f.GetString("pool")
			var in account.NewUser
			in.PoolID = pool
			in.Email, _ = f.GetString("email")
			in.Password, _ = f.GetString("password")
			in.Confirmed, _ = f.GetBool("confirmed")
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					u, err := a.accounts.CreateUser(ctx, in, actor)
					return web.ViewUser(u), err
				},
				method: http.MethodPost, path: "/admin/api/pools/" + pool + "/users",
				body: map[string]any{"email": in.Email, "password": in.Password, "confirmed": in.Confirmed},
			})
		},
	}
	create.Flags().String("pool", "", "user pool id (required)")
	create.Flags().String("email", "", "email address (required)")
	create.Flags().String("password", "", "password (required; the pool's policy applies)")
	create.Flags().Bool("confirmed", false, "mark the email verified and the user CONFIRMED")
	addAdminFlags(create)
	cmd.AddCommand(create)
	cmd.AddCommand(userAdminCmds()...)
	return cmd
}

func apikeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys (x-api-key of the session API)"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key with permissions",
		Long: `Create an API key for a project. Permissions: session:read, session:write,
users:write, apps:write, users:delete. The key is shown once.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			project, _ := cmd.Flags().GetString("project")
			perms, _ := cmd.Flags().GetStringSlice("permissions")
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					return a.tenants.CreateAPIKey(ctx, project, perms, actor)
				},
				method: http.MethodPost, path: "/admin/api/projects/" + project + "/apikeys", body: map[string]any{"permissions": perms},
			})
		},
	}
	create.Flags().String("project", "", "project id (required)")
	create.Flags().StringSlice("permissions", nil, "comma-separated permissions (required)")
	addAdminFlags(create)
	revoke := &cobra.Command{
		Use:   "revoke API_KEY_ID",
		Short: "Revoke an API key at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					return map[string]any{"revoked": id}, a.tenants.RevokeAPIKey(ctx, id, actor)
				},
				method: http.MethodDelete, path: "/admin/api/apikeys/" + id,
			})
		},
	}
	addAdminFlags(revoke)
	cmd.AddCommand(create, revoke)
	return cmd
}

func keysCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Manage signing keys"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate a pool's signing key (the previous key stays in the JWKS)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			pool, _ := cmd.Flags().GetString("pool")
			alg, _ := cmd.Flags().GetString("alg")
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					k, err := a.tenants.RotateKeys(ctx, pool, alg, actor)
					return map[string]any{"kid": k.ID, "alg": k.Alg, "userPoolId": k.PoolID, "createdAt": k.CreatedAt}, err
				},
				method: http.MethodPost, path: "/admin/api/pools/" + pool + "/keys/rotate", body: map[string]any{"alg": alg},
			})
		},
	}
	rotate.Flags().String("pool", "", "user pool id (required)")
	rotate.Flags().String("alg", "", "switch the pool to this algorithm (RS256, ES256, EdDSA); default: keep")
	addAdminFlags(rotate)
	cmd.AddCommand(rotate)
	return cmd
}

func migrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply database migrations and exit (serve also applies them)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			a, err := open(cmd.Context(), cfg, newLogger(cfg, io.Discard))
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "migrations applied")
			return a.store.Close()
		},
	}
	config.Register(cmd.Flags())
	return cmd
}
