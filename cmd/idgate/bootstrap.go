package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idgate/idgate/internal/account"
	"github.com/idgate/idgate/internal/config"
	"github.com/idgate/idgate/internal/console"
	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/notify"
	"github.com/idgate/idgate/internal/secret"
	"github.com/idgate/idgate/internal/store/sqlstore"
	"github.com/idgate/idgate/internal/tenant"
	"github.com/idgate/idgate/internal/token"
)

// app is idgate wired together: the store and the services over it.
type app struct {
	cfg      config.Config
	store    idgate.Store
	sealer   *secret.Sealer
	tokens   *token.Service
	accounts *account.Service
	tenants  *tenant.Service
	outbox   *notify.Outbox
	logouts  *notify.LogoutSender
	ended    *idgate.EndedSessions
	webhooks *tenant.Webhooks
	hooks    *notify.WebhookSender
	console  *console.Service
	logger   *slog.Logger
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// ensureDataDir creates the data directory, readable by its owner only.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// fileSecret reads a secret kept in the data dir, creating it (0600) with
// gen when absent. Concurrent first starts agree on one value: the file is
// created exclusively and the loser reads the winner's.
func fileSecret(dir, name string, gen func() string) (string, error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		time.Sleep(50 * time.Millisecond)
		b, err := os.ReadFile(path)
		return strings.TrimSpace(string(b)), err
	}
	if err != nil {
		return "", err
	}
	v := gen()
	if _, err := f.WriteString(v + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return v, f.Close()
}

func masterKey(cfg config.Config) ([]byte, error) {
	raw := cfg.MasterKey
	if raw == "" {
		var err error
		raw, err = fileSecret(cfg.DataDir, "master.key", func() string { return fmt.Sprintf("%x", secret.NewMasterKey()) })
		if err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
	}
	k, err := secret.ParseMasterKey(raw)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return k, nil
}

func adminToken(cfg config.Config) (string, error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	return fileSecret(cfg.DataDir, "admin.token", func() string { return idgate.NewSecret("iga_") })
}

func openStore(ctx context.Context, cfg config.Config) (idgate.Store, error) {
	if cfg.DatabaseURL != "" {
		return sqlstore.OpenPostgres(ctx, cfg.DatabaseURL)
	}
	return sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "idgate.db"))
}

// open wires idgate from its configuration.
func open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*app, error) {
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	key, err := masterKey(cfg)
	if err != nil {
		return nil, err
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	emails, err := notify.LoadTemplates()
	if err != nil {
		store.Close()
		return nil, err
	}
	outbox := notify.NewOutbox(200, logger)
	var smtp notify.Mailer
	if cfg.SMTPURL != "" {
		m, err := notify.NewSMTPMailer(cfg.SMTPURL, cfg.SMTPFrom)
		if err != nil {
			store.Close()
			return nil, fmt.Errorf("smtp: %w", err)
		}
		smtp = m
	}
	mailer := notify.NewRouter(smtp, outbox, func(ctx context.Context, projectID string) bool {
		p, err := store.GetProject(ctx, projectID)
		return err != nil || p.Environment == idgate.EnvSandbox // unknown: do not send
	})
	keys := token.NewKeys(store, sealer, time.Now)
	tokens := token.NewService(token.Config{Store: store, Keys: keys, Sealer: sealer, PublicURL: cfg.PublicURL})
	hasher := secret.NewHasher(secret.OWASPParams, 0)
	a := &app{
		cfg: cfg, store: store, sealer: sealer, tokens: tokens, outbox: outbox, logger: logger,
		accounts: account.NewService(store, hasher, mailer, emails, time.Now),
		tenants:  tenant.NewService(store, keys, cfg.PublicURL, cfg.Region, time.Now),
		logouts:  notify.NewLogoutSender(store, tokens.LogoutToken, nil, logger),
		webhooks: tenant.NewWebhooks(store, sealer, time.Now),
	}
	a.console = console.NewService(store, hasher, sealer, console.Limits{}, time.Now)
	a.hooks = notify.NewWebhookSender(store, a.webhooks.OpenSecret, nil, logger)
	// Sessions that end wake the back-channel logout sender at once; it
	// also polls, so notices written by other processes go out too.
	a.ended = &idgate.EndedSessions{}
	a.ended.Listen(func(string, []string) { a.logouts.Wake() })
	tokens.OnSessionsEnded = a.ended.Notify
	a.accounts.OnSessionsEnded = a.ended.Notify
	return a, nil
}

// revocationRetention is how long the revocation feed keeps an ended
// session: longer than the longest access-token lifetime (1 day), so a
// resource server resuming the feed learns of every session whose tokens
// could still be presented.
const revocationRetention = 48 * time.Hour

// pruneRevocations deletes old revocation feed rows hourly until ctx ends.
func pruneRevocations(ctx context.Context, store idgate.Store, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := store.PruneRevocations(ctx, time.Now().Add(-revocationRetention)); err != nil && ctx.Err() == nil {
			logger.Warn("prune revocation feed", "err", err.Error())
		} else if n > 0 {
			logger.Info("pruned revocation feed", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
