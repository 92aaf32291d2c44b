package tenant

import (
	"context"
	"errors"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// PoolUpdate changes a pool's policies; nil fields stay as they are.
type PoolUpdate struct {
	MFA                     *string `json:"mfa,omitempty"`
	PasswordMinLength       *int    `json:"passwordMinLength,omitempty"`
	HostedSessionTTLSeconds *int64  `json:"hostedSessionTtlSeconds,omitempty"`
	NewDeviceAlerts         *bool   `json:"newDeviceAlerts,omitempty"`
}

// PoolView is a pool's settings as administrators see them.
type PoolView struct {
	UserPoolID              string `json:"userPoolId"`
	ProjectID               string `json:"projectId"`
	UserPoolDomain          string `json:"userPoolDomain"`
	MFA                     string `json:"mfa"`
	SigningAlg              string `json:"signingAlg"`
	PasswordMinLength       int    `json:"passwordMinLength"`
	HostedSessionTTLSeconds int64  `json:"hostedSessionTtlSeconds"`
	NewDeviceAlerts         bool   `json:"newDeviceAlerts"`
}

// ViewPool presents a pool.
func ViewPool(p idgate.Pool) PoolView {
	return PoolView{UserPoolID: p.ID, ProjectID: p.ProjectID, UserPoolDomain: p.Domain, MFA: p.MFAPolicy, SigningAlg: p.SigningAlg,
		PasswordMinLength: p.PasswordMinLength, HostedSessionTTLSeconds: int64(p.HostedSessionTTL / time.Second), NewDeviceAlerts: p.NewDeviceAlerts}
}

// UpdatePool changes a pool's MFA policy, password length, hosted session
// lifetime (5 minutes to 30 days) or new-device alerts.
func (s *Service) UpdatePool(ctx context.Context, poolID string, in PoolUpdate, actor idgate.Actor) (PoolView, error) {
	if in.MFA != nil && *in.MFA != idgate.MFARequired && *in.MFA != idgate.MFAOptional && *in.MFA != idgate.MFAOff {
		return PoolView{}, idgate.InvalidRequest("mfa", "must be required, optional or off")
	}
	if in.PasswordMinLength != nil && (*in.PasswordMinLength < 8 || *in.PasswordMinLength > 128) {
		return PoolView{}, idgate.InvalidRequest("passwordMinLength", "must be between 8 and 128")
	}
	if in.HostedSessionTTLSeconds != nil && (*in.HostedSessionTTLSeconds < 300 || *in.HostedSessionTTLSeconds > 30*24*3600) {
		return PoolView{}, idgate.InvalidRequest("hostedSessionTtlSeconds", "must be between 300 (5 minutes) and 2592000 (30 days)")
	}
	cur, err := s.store.GetPool(ctx, poolID)
	if errors.Is(err, idgate.ErrNotFound) {
		return PoolView{}, idgate.NotFoundError("no user pool " + poolID)
	}
	if err != nil {
		return PoolView{}, err
	}
	var out idgate.Pool
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		var err error
		out, err = tx.UpdatePool(ctx, poolID, func(p idgate.Pool) (idgate.Pool, error) {
			if in.MFA != nil {
				p.MFAPolicy = *in.MFA
			}
			if in.PasswordMinLength != nil {
				p.PasswordMinLength = *in.PasswordMinLength
			}
			if in.HostedSessionTTLSeconds != nil {
				p.HostedSessionTTL = time.Duration(*in.HostedSessionTTLSeconds) * time.Second
			}
			if in.NewDeviceAlerts != nil {
				p.NewDeviceAlerts = *in.NewDeviceAlerts
			}
			return p, nil
		})
		if err != nil {
			return err
		}
		v := ViewPool(out)
		return event(ctx, tx, cur, idgate.EventPoolUpdated, actor, s.now(), map[string]any{"mfa": v.MFA,
			"password_min_length": v.PasswordMinLength, "hosted_session_ttl_seconds": v.HostedSessionTTLSeconds, "new_device_alerts": v.NewDeviceAlerts})
	})
	if err != nil {
		return PoolView{}, err
	}
	return ViewPool(out), nil
}
