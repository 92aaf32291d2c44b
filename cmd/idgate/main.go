// Command idgate is the idgate identity server and its administration CLI.
//
//	idgate serve                      run the server (embedded SQLite in ./idgate-data)
//	idgate project create ...         create a project (pool, app, API key)
//	idgate user create ...            create a user
//	idgate apikey create|revoke ...   manage API keys
//	idgate keys rotate --pool P       rotate a pool's signing key
//
// main is the only package that names a concrete storage backend.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/idgate/idgate/internal/config"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "idgate:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "idgate",
		Short: "idgate: a self-hosted identity and user-session-management server",
		Long: `idgate is a self-hosted identity server: hosted login (password + TOTP MFA),
ID/access/refresh tokens, a session API compatible with the Cripsa documents,
and an OpenID Connect provider.

Configuration comes from flags, then IDGATE_* environment variables, then an
optional JSON config file (--config), then defaults. With no configuration,
'idgate serve' keeps everything in ./idgate-data and listens on 127.0.0.1:8080.

Administration commands (project, user, apikey, keys, app) work on the local
data directory directly (also while a server runs on it), or on a running
server with --server URL --admin-token TOKEN.

` + config.Usage(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serveCmd(), projectCmd(), appCmd(), userCmd(), apikeyCmd(), keysCmd(), auditCmd(), webhookCmd(), migrateCmd(), benchCmd())
	return root
}
