package storetest

import (
	"testing"
	"time"

	"github.com/idgate/idgate/internal/idgate"
)

var keyTests = []test{
	{"SigningKeys", testSigningKeys},
}

func testSigningKeys(t *testing.T, s idgate.Store) {
	ctx := t.Context()
	f := newFixture(t, s)
	key := func(id, status string, created time.Time) idgate.SigningKey {
		return idgate.SigningKey{
			ID: id, PoolID: f.Pool.ID, Alg: idgate.AlgES256, Private: []byte("sealed-" + id),
			Public: []byte("pkix-" + id), Status: status, CreatedAt: created,
		}
	}
	retired := key("kid_0", idgate.KeyRetired, t0)
	prev := key("kid_1", idgate.KeyPrevious, at(time.Hour))
	cur := key("kid_2", idgate.KeyCurrent, at(2*time.Hour))
	for _, k := range []idgate.SigningKey{prev, retired, cur} {
		must(t, s.CreateSigningKey(ctx, k))
	}
	other := newFixture(t, s)
	must(t, s.CreateSigningKey(ctx, idgate.SigningKey{ID: "kid_other", PoolID: other.Pool.ID, Alg: idgate.AlgRS256,
		Private: []byte("p"), Public: []byte("q"), Status: idgate.KeyCurrent, CreatedAt: at(3 * time.Hour)}))

	keys, err := s.ListSigningKeys(ctx, f.Pool.ID)
	must(t, err)
	equal(t, "ListSigningKeys (newest first, retired left out)", keys, []idgate.SigningKey{cur, prev})

	// A rotation: a new current key, the old current becomes previous,
	// the old previous is retired.
	next := key("kid_3", idgate.KeyCurrent, at(3*time.Hour))
	must(t, s.InTx(ctx, func(tx idgate.Store) error {
		if err := tx.CreateSigningKey(ctx, next); err != nil {
			return err
		}
		if err := tx.SetSigningKeyStatus(ctx, cur.ID, idgate.KeyPrevious); err != nil {
			return err
		}
		return tx.SetSigningKeyStatus(ctx, prev.ID, idgate.KeyRetired)
	}))
	keys, err = s.ListSigningKeys(ctx, f.Pool.ID)
	must(t, err)
	cur.Status = idgate.KeyPrevious
	equal(t, "keys after a rotation", keys, []idgate.SigningKey{next, cur})

	wantErr(t, s.CreateSigningKey(ctx, key(cur.ID, idgate.KeyCurrent, t0)), idgate.ErrConflict)
	wantErr(t, s.SetSigningKeyStatus(ctx, "kid_missing", idgate.KeyRetired), idgate.ErrNotFound)
}
