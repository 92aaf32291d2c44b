package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/idgate/idgate/internal/audit"
	"github.com/idgate/idgate/internal/config"
	"github.com/idgate/idgate/internal/idgate"
)

func auditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify, export and purge the tamper-evident audit log"}
	cmd.AddCommand(auditVerifyCmd(), auditExportCmd(), auditPurgeCmd())
	return cmd
}

// withLocal opens the local data dir (or IDGATE_DATABASE_URL) for an
// offline command.
func withLocal(cmd *cobra.Command, fn func(ctx context.Context, a *app) error) error {
	cfg, err := config.Load(cmd.Flags(), os.Getenv)
	if err != nil {
		return err
	}
	a, err := open(cmd.Context(), cfg, newLogger(cfg, io.Discard))
	if err != nil {
		return err
	}
	defer a.store.Close()
	return fn(cmd.Context(), a)
}

func auditVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check every project's event hash chain; exits 1 and names the event when it was tampered with",
		RunE: func(cmd *cobra.Command, _ []string) error {
			project, _ := cmd.Flags().GetString("project")
			asJSON, _ := cmd.Flags().GetBool("json")
			return withLocal(cmd, func(ctx context.Context, a *app) error {
				ids := []string{project}
				if project == "" {
					ps, err := a.store.ListProjects(ctx)
					if err != nil {
						return err
					}
					ids = ids[:0]
					for _, p := range ps {
						ids = append(ids, p.ID)
					}
				}
				var reports []audit.Report
				bad := 0
				for _, id := range ids {
					r, err := audit.Verify(ctx, a.store, id)
					if err != nil {
						return err
					}
					if !r.OK {
						bad++
					}
					reports = append(reports, r)
				}
				out := cmd.OutOrStdout()
				if asJSON {
					if err := printResult(out, map[string]any{"reports": reports}, true); err != nil {
						return err
					}
				} else {
					for _, r := range reports {
						status := "ok"
						if !r.OK {
							status = "TAMPERED"
						}
						fmt.Fprintf(out, "%s  %-40s %d events\n", status, r.ProjectID, r.Events)
						for _, p := range r.Problems {
							fmt.Fprintf(out, "  %s at seq %d: %s\n", p.Kind, p.Seq, p.Detail)
						}
					}
				}
				if bad > 0 {
					return fmt.Errorf("%d project chain(s) failed verification", bad)
				}
				return nil
			})
		},
	}
	cmd.Flags().String("project", "", "project id (default: every project)")
	cmd.Flags().Bool("json", false, "print the reports as JSON")
	config.Register(cmd.Flags())
	return cmd
}

func parseTimeFlag(cmd *cobra.Command, name string) (time.Time, error) {
	v, _ := cmd.Flags().GetString(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: must be an RFC 3339 time such as 2026-01-31T00:00:00Z", name)
	}
	return t, nil
}

func auditExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export events as JSON Lines or CSV",
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := idgate.EventFilter{}
			f.ProjectID, _ = cmd.Flags().GetString("project")
			f.UserSub, _ = cmd.Flags().GetString("user")
			f.Type, _ = cmd.Flags().GetString("type")
			format, _ := cmd.Flags().GetString("format")
			outPath, _ := cmd.Flags().GetString("out")
			var err error
			if f.Since, err = parseTimeFlag(cmd, "since"); err != nil {
				return err
			}
			if f.Until, err = parseTimeFlag(cmd, "until"); err != nil {
				return err
			}
			return withLocal(cmd, func(ctx context.Context, a *app) error {
				w := cmd.OutOrStdout()
				if outPath != "" {
					file, err := os.OpenFile(outPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
					if err != nil {
						return err
					}
					defer file.Close()
					w = file
				}
				n, err := audit.Export(ctx, a.store, f, format, w)
				if err == nil && outPath != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "exported %d events to %s\n", n, outPath)
				}
				return err
			})
		},
	}
	cmd.Flags().String("project", "", "project id (default: all)")
	cmd.Flags().String("user", "", "only events about this user (sub)")
	cmd.Flags().String("type", "", "only events of this type, e.g. login.failed")
	cmd.Flags().String("since", "", "only events at or after this RFC 3339 time")
	cmd.Flags().String("until", "", "only events before this RFC 3339 time")
	cmd.Flags().String("format", audit.FormatJSONL, "jsonl or csv")
	cmd.Flags().String("out", "", "write to this file (0600) instead of stdout")
	config.Register(cmd.Flags())
	return cmd
}

func auditPurgeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Delete events older than the retention period, leaving a checkpoint so the chain still verifies",
		RunE: func(cmd *cobra.Command, _ []string) error {
			keep, _ := cmd.Flags().GetDuration("older-than")
			if keep <= 0 {
				return fmt.Errorf("--older-than: must be a positive duration such as 2160h (90 days)")
			}
			return withLocal(cmd, func(ctx context.Context, a *app) error {
				n, err := audit.Purge(ctx, a.store, keep, time.Now())
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "purged %d events\n", n)
				}
				return err
			})
		},
	}
	cmd.Flags().Duration("older-than", 0, "retention: delete events older than this (e.g. 2160h)")
	config.Register(cmd.Flags())
	return cmd
}
