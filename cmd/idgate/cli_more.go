package main

import (
	"context"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
	"github.com/idgate/idgate/internal/web"
)

// userAdminCmds are the per-user administration commands (SPEC §5): list
// sessions, revoke one, sign out everywhere, disable/enable, export.
func userAdminCmds() []*cobra.Command {
	type op struct {
		use, short, method, suffix string
		local                      func(ctx context.Context, a *app, pool, sub, sid string, actor idgate.Actor) (any, error)
	}
	ops := []op{
		{"sessions", "List a user's sessions, active and ended (with the reason)", http.MethodGet, "/sessions",
			func(ctx context.Context, a *app, pool, sub, _ string, _ idgate.Actor) (any, error) {
				l, err := a.accounts.Sessions(ctx, pool, sub)
				return map[string]any{"sessions": l}, err
			}},
		{"revoke-session", "End one session of a user (reason admin_revoked)", http.MethodPost, "/sessions/{sid}/revoke",
			func(ctx context.Context, a *app, pool, sub, sid string, actor idgate.Actor) (any, error) {
				return map[string]any{"revoked": sid}, a.accounts.RevokeSession(ctx, pool, sub, sid, idgate.EndAdminRevoked, actor)
			}},
		{"signout", "Sign a user out everywhere (all sessions, all apps, hosted login)", http.MethodPost, "/signout",
			func(ctx context.Context, a *app, pool, sub, _ string, actor idgate.Actor) (any, error) {
				n, err := a.accounts.GlobalSignOut(ctx, pool, sub, actor)
				return map[string]any{"revokedSessions": n}, err
			}},
		{"disable", "Disable a user: every session ends and sign-in is refused", http.MethodPost, "/disable",
			func(ctx context.Context, a *app, pool, sub, _ string, actor idgate.Actor) (any, error) {
				u, err := a.accounts.SetDisabled(ctx, pool, sub, true, actor)
				return web.ViewUser(u), err
			}},
		{"enable", "Enable a disabled user again", http.MethodPost, "/enable",
			func(ctx context.Context, a *app, pool, sub, _ string, actor idgate.Actor) (any, error) {
				u, err := a.accounts.SetDisabled(ctx, pool, sub, false, actor)
				return web.ViewUser(u), err
			}},
		{"export", "Export everything stored about a user as JSON (GDPR art. 15/20)", http.MethodGet, "/export",
			func(ctx context.Context, a *app, pool, sub, _ string, _ idgate.Actor) (any, error) {
				return a.accounts.ExportUser(ctx, pool, sub, token.UserClaims)
			}},
	}
	var cmds []*cobra.Command
	for _, o := range ops {
		cmd := &cobra.Command{
			Use:   o.use,
			Short: o.short,
			RunE: func(cmd *cobra.Command, _ []string) error {
				pool, _ := cmd.Flags().GetString("pool")
				sub, _ := cmd.Flags().GetString("sub")
				sid, _ := cmd.Flags().GetString("sid")
				path := "/admin/api/pools/" + pool + "/users/" + sub + o.suffix
				if sid != "" {
					path = "/admin/api/pools/" + pool + "/users/" + sub + "/sessions/" + sid + "/revoke"
				}
				return runAdmin(cmd, adminCall{
					local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
						return o.local(ctx, a, pool, sub, sid, actor)
					},
					method: o.method, path: path,
				})
			},
		}
		cmd.Flags().String("pool", "", "user pool id (required)")
		cmd.Flags().String("sub", "", "the user's sub (required)")
		if o.use == "revoke-session" {
			cmd.Flags().String("sid", "", "session id (required)")
		}
		addAdminFlags(cmd)
		cmds = append(cmds, cmd)
	}
	return cmds
}

func webhookCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "webhook", Short: "Manage webhook endpoints and their delivery log"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Subscribe an HTTPS endpoint to event types; prints the signing secret once",
		RunE: func(cmd *cobra.Command, _ []string) error {
			project, _ := cmd.Flags().GetString("project")
			var in tenant.NewWebhook
			in.URL, _ = cmd.Flags().GetString("url")
			in.EventTypes, _ = cmd.Flags().GetStringSlice("events")
			in.Description, _ = cmd.Flags().GetString("description")
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					return a.webhooks.CreateWebhook(ctx, project, in, actor)
				},
				method: http.MethodPost, path: "/admin/api/projects/" + project + "/webhooks", body: in,
			})
		},
	}
	create.Flags().String("project", "", "project id (required)")
	create.Flags().String("url", "", "https URL of the endpoint (required)")
	create.Flags().StringSlice("events", []string{"*"}, "event types to deliver (comma-separated; * for all)")
	create.Flags().String("description", "", "a note for administrators")
	addAdminFlags(create)
	list := &cobra.Command{
		Use:   "list",
		Short: "List a project's webhook endpoints",
		RunE: func(cmd *cobra.Command, _ []string) error {
			project, _ := cmd.Flags().GetString("project")
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, _ idgate.Actor) (any, error) {
					l, err := a.webhooks.ListWebhooks(ctx, project)
					return map[string]any{"webhooks": l}, err
				},
				method: http.MethodGet, path: "/admin/api/projects/" + project + "/webhooks",
			})
		},
	}
	list.Flags().String("project", "", "project id (required)")
	addAdminFlags(list)
	disable := &cobra.Command{
		Use:   "disable WEBHOOK_ID",
		Short: "Stop deliveries to an endpoint",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, actor idgate.Actor) (any, error) {
					return map[string]any{"disabled": args[0]}, a.webhooks.DisableWebhook(ctx, args[0], actor)
				},
				method: http.MethodDelete, path: "/admin/api/webhooks/" + args[0],
			})
		},
	}
	addAdminFlags(disable)
	deliveries := &cobra.Command{
		Use:   "deliveries WEBHOOK_ID",
		Short: "Show an endpoint's delivery log (newest first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, _ idgate.Actor) (any, error) {
					l, err := a.webhooks.Deliveries(ctx, args[0], 100)
					return map[string]any{"deliveries": l}, err
				},
				method: http.MethodGet, path: "/admin/api/webhooks/" + args[0] + "/deliveries",
			})
		},
	}
	addAdminFlags(deliveries)
	retry := &cobra.Command{
		Use:   "retry DELIVERY_ID",
		Short: "Queue a delivery again now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAdmin(cmd, adminCall{
				local: func(ctx context.Context, a *app, _ idgate.Actor) (any, error) {
					return map[string]any{"queued": args[0]}, a.webhooks.Redeliver(ctx, args[0])
				},
				method: http.MethodPost, path: "/admin/api/webhook-deliveries/" + args[0] + "/retry",
			})
		},
	}
	addAdminFlags(retry)
	cmd.AddCommand(create, list, disable, deliveries, retry)
	return cmd
}
