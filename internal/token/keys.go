package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/idgate/idgate/internal/idgate"
	"github.com/idgate/idgate/internal/secret"
)

// keyCacheTTL bounds how long a node keeps using its view of a pool's keys
// without rereading them, so a rotation made by another process (the CLI,
// another node) takes effect within this time.
const keyCacheTTL = 5 * time.Second

// Keys manages the pools' signing keys: generation, rotation with overlap,
// the JWKS, and an in-memory cache of the decrypted keys.
type Keys struct {
	store  idgate.Store
	sealer *secret.Sealer
	now    func() time.Time

	mu    sync.Mutex
	pools map[string]*poolKeys
}

type poolKeys struct {
	loadedAt time.Time
	signing  *signingKey
	verify   map[string]verifyKey
	jwks     jose.JSONWebKeySet
}

type signingKey struct {
	kid    string
	alg    jose.SignatureAlgorithm
	signer crypto.Signer
}

type verifyKey struct {
	alg jose.SignatureAlgorithm
	key crypto.PublicKey
}

// NewKeys returns a key manager over store, decrypting private keys with sealer.
func NewKeys(store idgate.Store, sealer *secret.Sealer, now func() time.Time) *Keys {
	return &Keys{store: store, sealer: sealer, now: now, pools: map[string]*poolKeys{}}
}

// ValidAlg reports whether alg is a signing algorithm idgate supports.
func ValidAlg(alg string) bool {
	return alg == idgate.AlgRS256 || alg == idgate.AlgES256 || alg == idgate.AlgEdDSA
}

func keyAAD(kid string) string { return "signing-key:" + kid }

// Generate creates a new key pair for the pool (not yet stored).
func (k *Keys) Generate(poolID, alg string) (idgate.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case idgate.AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case idgate.AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case idgate.AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return idgate.SigningKey{}, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return idgate.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return idgate.SigningKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return idgate.SigningKey{}, err
	}
	kid := idgate.RandomString("abcdefghijklmnopqrstuvwxyz0123456789", 16)
	return idgate.SigningKey{
		ID: kid, PoolID: poolID, Alg: alg, Private: k.sealer.Seal(der, keyAAD(kid)),
		Public: pub, Status: idgate.KeyCurrent, CreatedAt: k.now(),
	}, nil
}

// Rotate makes a new current key for the pool with alg (the pool's
// algorithm when empty). The old current key becomes previous and stays in
// the JWKS so tokens it signed keep verifying; an older previous key is
// retired. It runs in tx when called inside a transaction.
func (k *Keys) Rotate(ctx context.Context, tx idgate.Store, poolID, alg string) (idgate.SigningKey, error) {
	if alg == "" {
		pool, err := tx.GetPool(ctx, poolID)
		if err != nil {
			return idgate.SigningKey{}, err
		}
		alg = pool.SigningAlg
	}
	nk, err := k.Generate(poolID, alg)
	if err != nil {
		return idgate.SigningKey{}, err
	}
	err = tx.InTx(ctx, func(tx idgate.Store) error {
		old, err := tx.ListSigningKeys(ctx, poolID)
		if err != nil {
			return err
		}
		for _, o := range old {
			next := idgate.KeyRetired
			if o.Status == idgate.KeyCurrent {
				next = idgate.KeyPrevious
			}
			if err := tx.SetSigningKeyStatus(ctx, o.ID, next); err != nil {
				return err
			}
		}
		return tx.CreateSigningKey(ctx, nk)
	})
	if err != nil {
		return idgate.SigningKey{}, err
	}
	k.Forget(poolID)
	return nk, nil
}

// Forget drops the cached keys of a pool so the next use rereads them.
func (k *Keys) Forget(poolID string) {
	k.mu.Lock()
	delete(k.pools, poolID)
	k.mu.Unlock()
}

func (k *Keys) load(ctx context.Context, poolID string, fresh bool) (*poolKeys, error) {
	now := k.now()
	k.mu.Lock()
	pk := k.pools[poolID]
	k.mu.Unlock()
	if pk != nil && !fresh && now.Sub(pk.loadedAt) < keyCacheTTL {
		return pk, nil
	}
	if pk != nil && fresh && now.Sub(pk.loadedAt) < time.Second {
		return pk, nil // rate-limit rereads triggered by unknown kids
	}
	stored, err := k.store.ListSigningKeys(ctx, poolID)
	if err != nil {
		return nil, err
	}
	pk = &poolKeys{loadedAt: now, verify: map[string]verifyKey{}}
	for _, sk := range stored {
		pub, err := x509.ParsePKIXPublicKey(sk.Public)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
		}
		alg := jose.SignatureAlgorithm(sk.Alg)
		pk.verify[sk.ID] = verifyKey{alg: alg, key: pub}
		pk.jwks.Keys = append(pk.jwks.Keys, jose.JSONWebKey{Key: pub, KeyID: sk.ID, Algorithm: sk.Alg, Use: "sig"})
		if sk.Status == idgate.KeyCurrent && pk.signing == nil {
			der, err := k.sealer.Open(sk.Private, keyAAD(sk.ID))
			if err != nil {
				return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
			}
			signer, ok := priv.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("signing key %s: not a signer", sk.ID)
			}
			pk.signing = &signingKey{kid: sk.ID, alg: alg, signer: signer}
		}
	}
	k.mu.Lock()
	k.pools[poolID] = pk
	k.mu.Unlock()
	return pk, nil
}

// ErrNoSigningKey means a pool has no current signing key.
var ErrNoSigningKey = errors.New("pool has no current signing key")

func (k *Keys) signer(ctx context.Context, poolID string) (*signingKey, error) {
	pk, err := k.load(ctx, poolID, false)
	if err != nil {
		return nil, err
	}
	if pk.signing == nil {
		return nil, ErrNoSigningKey
	}
	return pk.signing, nil
}

// verificationKey finds the public key for kid, rereading the pool's keys
// once (rate-limited) when kid is unknown.
func (k *Keys) verificationKey(ctx context.Context, poolID, kid string) (verifyKey, bool, error) {
	pk, err := k.load(ctx, poolID, false)
	if err != nil {
		return verifyKey{}, false, err
	}
	if vk, ok := pk.verify[kid]; ok {
		return vk, true, nil
	}
	if pk, err = k.load(ctx, poolID, true); err != nil {
		return verifyKey{}, false, err
	}
	vk, ok := pk.verify[kid]
	return vk, ok, nil
}

// JWKS returns the pool's public keys: the current one and the previous one
// kept after a rotation.
func (k *Keys) JWKS(ctx context.Context, poolID string) (jose.JSONWebKeySet, error) {
	pk, err := k.load(ctx, poolID, false)
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	return pk.jwks, nil
}
