# idgate developer tasks. `make` (or `make help`) lists them.
#
# The README's two commands are the truth: `go run ./cmd/idgate serve` runs
# the server, `make test` runs the tests. .ci/run runs `make test` too.

# Never download a Go toolchain: build with the one installed (go.mod's `go`
# line stays at or below it).
export GOTOOLCHAIN := local

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO ?= go
# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 20s
# The PostgreSQL database `make test-postgres` uses (IDGATE_TEST_POSTGRES_DSN
# when set). The tests create and drop their own schemas in it.
POSTGRES_DSN ?= $(or $(IDGATE_TEST_POSTGRES_DSN),postgres://postgres@127.0.0.1:5432/test?sslmode=disable)

.DEFAULT_GOAL := help
.PHONY: help run test test-postgres lint bench fuzz

help: ## list the targets
	@echo "idgate: make TARGET"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "variables: FUZZTIME=$(FUZZTIME)  POSTGRES_DSN=$(POSTGRES_DSN)"

run: ## run the server with embedded defaults (./idgate-data, http://127.0.0.1:8080)
	$(GO) run ./cmd/idgate serve

test: ## go vet, then every test with the race detector (PostgreSQL too when IDGATE_TEST_POSTGRES_DSN is set)
	$(GO) vet ./... && $(GO) test -race -count=1 ./...

# The packages with PostgreSQL tests: the storage conformance suite, the
# HTTP edge, the end-to-end server tests and the SDK's token store.
POSTGRES_PKGS := ./internal/store/... ./internal/web/... ./internal/e2e/... ./client/...

test-postgres: ## the store, web, end-to-end and SDK tests against PostgreSQL at POSTGRES_DSN
	IDGATE_TEST_POSTGRES_DSN='$(POSTGRES_DSN)' $(GO) test -race -count=1 $(POSTGRES_PKGS)

lint: ## gofmt -l must print nothing; go vet
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt -l lists files that need gofmt -w:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

bench: ## every Go benchmark, with allocations
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The fuzz targets are discovered, not listed: `go test -list` prints each
# package's Fuzz functions followed by an "ok <package>" line.
fuzz: ## run every fuzz target for FUZZTIME (default 20s) each
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/ {names[n++] = $$1; next} /^ok / {for (i = 0; i < n; i++) print $$2 " " names[i]; n = 0}'); \
	if [ -z "$$targets" ]; then echo "no fuzz targets"; exit 0; fi; \
	while read -r pkg name; do \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime '$(FUZZTIME)' "$$pkg"; \
	done <<< "$$targets"
