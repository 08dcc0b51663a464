# DB names the file `make db` builds, so a fresh database can be compared
# with the committed porting.db without touching it.
DB ?= /tmp/porting-fresh.db
GO ?= go

.PHONY: build test db lint audit bench

build:
	$(GO) build -o bin/porttrack ./cmd/porttrack

# One package at a time: the Raft tests hold elections at timeouts of a few
# hundred milliseconds, and on two cores the compiler and the gate tests'
# own go commands running beside them starve nodes into elections that
# their scenarios do not expect.
test:
	$(GO) test -race -count=1 -p 1 ./...

db:
	rm -f $(DB) $(DB)-wal $(DB)-shm
	PORTTRACK_ACTOR="porttrack init" $(GO) run ./cmd/porttrack init --catalog catalog --db $(DB)

lint:
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	cd bench && $(GO) vet ./...

# audit re-runs the gates of every verified item in porting.db; it writes nothing.
audit:
	$(GO) run ./cmd/porttrack audit

# bench runs raftport, hashicorp/raft and etcd raft on one workload in one
# process and prints the ratios; figures vary between runs, compare medians.
# The harness is a module of its own (bench/) so that raftport's users do
# not inherit the other libraries as dependencies.
bench:
	cd bench && $(GO) run ./cmd/raftbench
