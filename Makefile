# DB names the file `make db` builds, so a fresh database can be compared
# with the committed porting.db without touching it.
DB ?= /tmp/porting-fresh.db
GO ?= go

.PHONY: build test db lint audit bench bench-tables bench-hot bench-test bench-ci catalog-check scale soak catchup-bound

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
	$(GO) run ./cmd/porttrack audit --strict

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
# append-entry encode/decode, a follower processing live append entries
# and a leader committing on its followers' acks, the in-process and
# NATS transports.
bench-hot:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./raftport/storage ./raftport/transport
	$(GO) test -run '^$$' -bench 'AppendEntry|AckTracking' -benchmem -count 1 ./raftport

# The harness's own tests: every driver applies exactly what was proposed,
# in order, on every node, and leaks no goroutine; also its leader-loss,
# catch-up and report tests (about 2 minutes).
bench-test:
	cd bench && $(GO) test -race -count=1 -p 1 ./...

# What CI runs of them: the correctness tests of every driver, over NATS
# too, and the command's flag checks (about 30 s beside the compilation).
bench-ci:
	cd bench && $(GO) test -race -count=1 -p 1 -skip 'Failover|Catchup|Sections' ./...

# catalog-check rebuilds catalog/ from the reference's raft.go and
# raft_test.go in REF (a directory outside this repository) with porttrack
# import go, and compares the result with catalog/: with the catalog's own
# call rules (--calls rules) it must match exactly; the default (--calls
# types) must match too, and lists the calls only the type checker adds.
catalog-check:
	@if [ -z "$(REF)" ]; then echo "usage: make catalog-check REF=DIR (DIR holds raft.go and raft_test.go at the pinned commit)"; exit 2; fi
	@case "$$(realpath "$(REF)")/" in "$$(realpath .)"/*) echo "REF=$(REF) is inside the repository; keep the reference outside it"; exit 2;; esac
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/porttrack" ./cmd/porttrack && \
	for calls in rules types; do \
		echo "== porttrack import go --calls $$calls"; \
		"$$tmp/porttrack" import go --dir "$(REF)" --files raft.go,raft_test.go --prefix server/ \
			--batch 30 --name raft.go --first-feature-id 2599 --first-test-id 2616 \
			--calls $$calls --into "$$tmp/$$calls" >/dev/null || exit 1; \
		extra=; [ $$calls = types ] && extra=--extra-calls-ok; \
		"$$tmp/porttrack" catalog diff catalog "$$tmp/$$calls" --limit 0 $$extra >"$$tmp/diff" 2>&1; rc=$$?; \
		sed "s|$$tmp/$$calls|the import|g" "$$tmp/diff"; [ $$rc = 0 ] || exit 1; \
	done

# scale is the scale test of porttrack: it imports the whole NATS server
# (server/*.go of the module in the module cache, one batch per file) into
# a scratch database outside the repository, then times the import and each
# read command as whole processes with hyperfine and prints their medians.
SCALE_DB ?= /tmp/porttrack-nats.db
SCALE_RUNS ?= 30
scale: build
	@command -v hyperfine >/dev/null || { echo "make scale needs hyperfine (apt-get install hyperfine)"; exit 2; }
	@src=$$($(GO) list -m -f '{{.Dir}}' github.com/nats-io/nats-server/v2)/server && \
	out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && \
	export PORTTRACK_ACTOR=scale && \
	hyperfine -N --runs 5 --prepare "rm -f $(SCALE_DB) $(SCALE_DB)-wal $(SCALE_DB)-shm" --export-csv "$$out/import.csv" \
		"bin/porttrack import go --dir $$src --files *.go --per-file --batch 1 --db $(SCALE_DB)" >/dev/null 2>&1 && \
	bin/porttrack import go --dir $$src --files '*.go' --per-file --batch 1 --db $(SCALE_DB).check 2>&1 | sed 's|$(SCALE_DB).check|$(SCALE_DB)|'; rm -f $(SCALE_DB).check*; \
	hyperfine -N --warmup 3 --runs $(SCALE_RUNS) --export-csv "$$out/read.csv" \
		"bin/porttrack batch list --db $(SCALE_DB)" "bin/porttrack batch show 40 --db $(SCALE_DB)" \
		"bin/porttrack batch ready --db $(SCALE_DB)" "bin/porttrack feature list --batch 40 --db $(SCALE_DB)" \
		"bin/porttrack feature list --db $(SCALE_DB)" "bin/porttrack test list --db $(SCALE_DB)" \
		"bin/porttrack feature list --json --db $(SCALE_DB)" "bin/porttrack feature show 100 --db $(SCALE_DB)" \
		"bin/porttrack feature deps 100 --db $(SCALE_DB)" "bin/porttrack test show 100 --db $(SCALE_DB)" \
		"bin/porttrack history 100 --test --db $(SCALE_DB)" "bin/porttrack report summary --db $(SCALE_DB)" \
		"bin/porttrack next --db $(SCALE_DB)" "bin/porttrack next --json --limit 0 --db $(SCALE_DB)" >/dev/null 2>&1 && \
	echo "median ms (user ms)  command   [$$(nproc) cores, load average $$(cut -d' ' -f1-3 /proc/loadavg)]" && \
	tail -q -n +2 "$$out/import.csv" "$$out/read.csv" | \
		awk -F, '{ cmd = $$1; sub(/ --db .*/, "", cmd); sub(/ --dir [^ ]* /, " --dir .../server ", cmd); printf "%9.1f (%6.1f)  %s\n", $$4 * 1000, $$5 * 1000, cmd }'

# soak runs the fault suite's long campaign (faults/cmd/soak): SOAK_RUNS
# seeded runs of mixed faults, SOAK_DURATION of faults each, alternating 3
# and 5 nodes, and prints the totals. One run takes about its duration
# plus two seconds. SOAK_VALUE_SIZE=16384 pads the clients' values so that
# every batch with a write comes from the leader's batch memory.
SOAK_RUNS ?= 1000
SOAK_DURATION ?= 5s
SOAK_SEED ?= 1
SOAK_VALUE_SIZE ?= 0
soak:
	$(GO) run ./faults/cmd/soak -runs $(SOAK_RUNS) -duration $(SOAK_DURATION) -seed $(SOAK_SEED) -value-size $(SOAK_VALUE_SIZE)

# catchup-bound runs only the catchup bound of issue 15 (at most one
# stream per follower at a time, few starts per second); make test runs it
# with the rest of the fault suite.
catchup-bound:
	$(GO) test -race -count=1 -run TestCatchupBound ./faults
