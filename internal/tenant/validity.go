package tenant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

// Validity ranges (Cognito's).
const (
	minIDAccess = 5 * time.Minute
	maxIDAccess = 24 * time.Hour
	minRefresh  = time.Hour
	maxRefresh  = 3650 * 24 * time.Hour
)

var units = map[string]time.Duration{"seconds": time.Second, "minutes": time.Minute, "hours": time.Hour, "days": 24 * time.Hour}

// ValidityUnits names the unit of each validity value.
type ValidityUnits struct {
	IDToken      string `json:"idToken,omitempty"`
	AccessToken  string `json:"accessToken,omitempty"`
	RefreshToken string `json:"refreshToken,omitempty"`
}

// ValidityUpdate is the updatetokenvalidity request; nil values keep the
// current setting.
type ValidityUpdate struct {
	ClientID             string        `json:"clientId"`
	IDTokenValidity      *int64        `json:"idTokenValidity,omitempty"`
	AccessTokenValidity  *int64        `json:"accessTokenValidity,omitempty"`
	RefreshTokenValidity *int64        `json:"refreshTokenValidity,omitempty"`
	Units                ValidityUnits `json:"tokenValidityUnits"`
}

// ValidityView is the validity in force, in the units it was set with.
type ValidityView struct {
	ClientID             string        `json:"clientId"`
	IDTokenValidity      int64         `json:"idTokenValidity"`
	AccessTokenValidity  int64         `json:"accessTokenValidity"`
	RefreshTokenValidity int64         `json:"refreshTokenValidity"`
	Units                ValidityUnits `json:"tokenValidityUnits"`
}

// View presents an app's validity.
func View(app idgate.App) ValidityView {
	v := app.Validity
	return ValidityView{
		ClientID:             app.ClientID,
		IDTokenValidity:      int64(v.IDToken / units[v.IDUnit]),
		AccessTokenValidity:  int64(v.AccessToken / units[v.AccessUnit]),
		RefreshTokenValidity: int64(v.RefreshToken / units[v.RefreshUnit]),
		Units:                ValidityUnits{IDToken: v.IDUnit, AccessToken: v.AccessUnit, RefreshToken: v.RefreshUnit},
	}
}

func human(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return fmt.Sprintf("%d minutes", d/time.Minute)
}

// resolve turns one value + unit into a duration within [min, max].
func resolve(field, unitField string, value *int64, unit, defUnit string, min, max time.Duration, cur time.Duration, curUnit string) (time.Duration, string, error) {
	if unit == "" {
		if value == nil {
			unit = curUnit
		} else {
			unit = defUnit
		}
	}
	u, ok := units[unit]
	if !ok {
		return 0, "", idgate.InvalidRequest(unitField, "must be seconds, minutes, hours or days")
	}
	if value == nil {
		if cur%u != 0 {
			return 0, "", idgate.InvalidRequest(field, "is required when changing its unit to %s", unit)
		}
		return cur, unit, nil
	}
	if *value <= 0 || *value > int64(maxRefresh/u) {
		return 0, "", idgate.InvalidRequest(field, "must be between %s and %s", human(min), human(max))
	}
	d := time.Duration(*value) * u
	if d < min || d > max {
		return 0, "", idgate.InvalidRequest(field, "must be between %s and %s (got %d %s)", human(min), human(max), *value, unit)
	}
	return d, unit, nil
}

// UpdateTokenValidity changes an app's token lifetimes for tokens issued
// from now on. The app must belong to the caller's project.
func (s *Service) UpdateTokenValidity(ctx context.Context, projectID string, in ValidityUpdate, actor idgate.Actor) (ValidityView, error) {
	if in.ClientID == "" {
		return ValidityView{}, idgate.InvalidRequest("clientId", "is required")
	}
	if in.IDTokenValidity == nil && in.AccessTokenValidity == nil && in.RefreshTokenValidity == nil {
		return ValidityView{}, idgate.InvalidRequest("idTokenValidity", "send at least one of idTokenValidity, accessTokenValidity, refreshTokenValidity")
	}
	cur, err := s.store.GetApp(ctx, in.ClientID)
	if errors.Is(err, idgate.ErrNotFound) || (err == nil && cur.ProjectID != projectID) {
		return ValidityView{}, idgate.NotFoundError("no app " + in.ClientID + " in this project")
	}
	if err != nil {
		return ValidityView{}, err
	}
	// Validate before writing, so a bad value changes nothing.
	next := cur.Validity
	if next.IDToken, next.IDUnit, err = resolve("idTokenValidity", "tokenValidityUnits.idToken", in.IDTokenValidity, in.Units.IDToken, "hours", minIDAccess, maxIDAccess, cur.Validity.IDToken, cur.Validity.IDUnit); err != nil {
		return ValidityView{}, err
	}
	if next.AccessToken, next.AccessUnit, err = resolve("accessTokenValidity", "tokenValidityUnits.accessToken", in.AccessTokenValidity, in.Units.AccessToken, "hours", minIDAccess, maxIDAccess, cur.Validity.AccessToken, cur.Validity.AccessUnit); err != nil {
		return ValidityView{}, err
	}
	if next.RefreshToken, next.RefreshUnit, err = resolve("refreshTokenValidity", "tokenValidityUnits.refreshToken", in.RefreshTokenValidity, in.Units.RefreshToken, "days", minRefresh, maxRefresh, cur.Validity.RefreshToken, cur.Validity.RefreshUnit); err != nil {
		return ValidityView{}, err
	}
	pool, err := s.store.GetPool(ctx, cur.PoolID)
	if err != nil {
		return ValidityView{}, err
	}
	var app idgate.App
	err = s.store.InTx(ctx, func(tx idgate.Store) error {
		var err error
		app, err = tx.UpdateApp(ctx, in.ClientID, func(a idgate.App) (idgate.App, error) {
			a.Validity, a.UpdatedAt = next, s.now()
			return a, nil
		})
		if err != nil {
			return err
		}
		return event(ctx, tx, pool, idgate.EventAppUpdated, actor, s.now(), map[string]any{"client_id": app.ClientID,
			"id_token_seconds": int64(next.IDToken / time.Second), "access_token_seconds": int64(next.AccessToken / time.Second),
			"refresh_token_seconds": int64(next.RefreshToken / time.Second)})
	})
	if err != nil {
		return ValidityView{}, err
	}
	return View(app), nil
}
