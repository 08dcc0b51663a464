# DB names the file `make db` builds, so a fresh database can be compared
# with the committed porting.db without touching it.
DB ?= /tmp/porting-fresh.db
GO ?= go

.PHONY: build test db lint audit bench bench-tables bench-hot bench-test bench-ci

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

# bench measures raftport against hashicorp/raft and etcd raft (and
# JetStream over an embedded NATS cluster) and prints the tables with the
# setup they ran on, then runs the Go benchmarks of raftport's hot paths.
# The harness is a module of its own (bench/) so that raftport's users do
# not inherit the other libraries as dependencies. Every run's figures go
# to $(BENCH_OUT)/runs.json and runs.csv. Takes about 15 minutes.
BENCH_OUT ?= $(CURDIR)/bench/results
BENCH_FLAGS ?=
bench: bench-tables bench-hot

bench-tables:
	cd bench && $(GO) run ./cmd/raftbench -out $(BENCH_OUT) $(BENCH_FLAGS)

# Hot paths with allocations: WAL appends with group commit and reads,
# append-entry encode/decode, the in-process and NATS transports.
bench-hot:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./raftport/storage ./raftport/transport
	$(GO) test -run '^$$' -bench 'AppendEntry' -benchmem -count 1 ./raftport

# The harness's own tests: every driver applies exactly what was proposed,
# in order, on every node, and leaks no goroutine; also its leader-loss,
# catch-up and report tests (about 2 minutes).
bench-test:
	cd bench && $(GO) test -race -count=1 -p 1 ./...

# What CI runs of them: the correctness tests of every driver, over NATS
# too, and the command's flag checks (about 30 s beside the compilation).
bench-ci:
	cd bench && $(GO) test -race -count=1 -p 1 -skip 'Failover|Catchup|Sections' ./...
