package secret

import (
	"context"
	"testing"
)

// Benchmarks of argon2id at the production parameters (OWASP: m=19 MiB,
// t=2, p=1): what one sign-in costs, and how the Hasher's semaphore keeps
// a storm of them to GOMAXPROCS hashes at a time.
//
//	go test ./internal/secret -run '^$' -bench . -benchmem

// BenchmarkHash is one password hash (sign-up, password change).
func BenchmarkHash(b *testing.B) {
	h := NewHasher(OWASPParams, 0)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is one password check (sign-in), from 64 goroutines
// at once: the semaphore admits GOMAXPROCS, so throughput is that of the
// cores and the rest queue.
func BenchmarkVerify(b *testing.B) {
	h := NewHasher(OWASPParams, 0)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ok, err := h.Verify(ctx, "correct horse battery staple", enc)
			if err != nil || !ok {
				b.Fatalf("verify: %v %v", ok, err)
			}
		}
	})
}
