package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/idgate/idgate/internal/audit"
	"github.com/idgate/idgate/internal/config"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/web"
)

func serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the idgate server",
		Long: `Run the idgate server. Without configuration it stores everything in
./idgate-data (SQLite database, master key, admin token; files 0600) and
listens on 127.0.0.1:8080. It answers /readyz with 200 once it accepts
requests and stops cleanly on SIGTERM or SIGINT.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), os.Getenv)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return serve(ctx, cfg)
		},
	}
	config.Register(cmd.Flags())
	return cmd
}

func serve(ctx context.Context, cfg config.Config) error {
	logger := newLogger(cfg, os.Stderr)
	a, err := open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer a.store.Close()
	tok, err := adminToken(cfg)
	if err != nil {
		return fmt.Errorf("admin token: %w", err)
	}
	var ready atomic.Bool
	srv := web.New(web.Deps{
		Tokens: a.tokens, Accounts: a.accounts, Tenants: a.tenants, Webhooks: a.webhooks, Store: a.store,
		AdminTokenDigest: secret.Digest(tok), PublicURL: cfg.PublicURL, Logger: logger, TrustProxy: cfg.TrustProxy,
		Console: a.console, Outbox: a.outbox, Sealer: a.sealer, EndedSessions: a.ended,
	}, ready.Load)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	workers, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	go a.logouts.Run(workers)
	go pruneRevocations(workers, a.store, logger)
	go a.hooks.Run(workers)
	lastSeenDone := make(chan struct{})
	go func() { a.tokens.RunLastSeen(workers, 30*time.Second); close(lastSeenDone) }()
	go retention(workers, a)
	ready.Store(true)
	backend := "sqlite:" + filepath.Join(cfg.DataDir, "idgate.db")
	if cfg.DatabaseURL != "" {
		backend = "postgres"
	}
	logger.Info("idgate listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "database", backend)
	if cfg.AdminToken == "" {
		fmt.Fprintf(os.Stderr, "idgate: admin API bearer token is in %s\n", filepath.Join(cfg.DataDir, "admin.token"))
	}
	// The setup link is informative: a signal arriving meanwhile must not
	// turn start-up into a failure, and a database hiccup must not stop a
	// server that is already serving.
	setupCtx, cancelSetup := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if err := announceConsole(setupCtx, a, cfg.PublicURL); err != nil {
		logger.Warn("admin console setup link not issued", "err", err.Error())
	}
	cancelSetup()
	go consoleHousekeeping(workers, a)
	fmt.Fprintf(os.Stderr, "idgate: serving on %s (create a project: idgate project create --name demo --callback-url http://localhost:3000/callback)\n", cfg.PublicURL)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	ready.Store(false)
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	stopWorkers()
	<-lastSeenDone // the last coalesced last-seen times are written
	logger.Info("stopped")
	return nil
}

// retention purges audit events older than the configured retention, at
// start and then hourly. Several nodes may run it: purges are idempotent.
func retention(ctx context.Context, a *app) {
	keep := a.cfg.Retention()
	if keep <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := audit.Purge(ctx, a.store, keep, time.Now()); err != nil {
			a.logger.Warn("audit retention purge failed", "err", err.Error())
		} else if n > 0 {
			a.logger.Info("audit retention purge", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// announceConsole prints the admin console's address and, while no
// administrator exists, a fresh one-time setup link (its token is stored
// hashed and works once, for 24 hours).
func announceConsole(ctx context.Context, a *app, publicURL string) error {
	tok, err := a.console.IssueSetupToken(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "idgate: admin console at %s/admin\n", publicURL)
	if tok != "" {
		fmt.Fprintf(os.Stderr, "idgate: no administrator yet; set one up (link valid once, for 24 hours):\n  %s/admin/setup?token=%s\n", publicURL, tok)
	}
	return nil
}

// consoleHousekeeping deletes expired console sessions and tokens hourly.
func consoleHousekeeping(ctx context.Context, a *app) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := a.console.Purge(ctx); err != nil && ctx.Err() == nil {
			a.logger.Warn("purge console sessions", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
