# DB names the file `make db` builds, so a fresh database can be compared
# with the committed porting.db without touching it.
DB ?= /tmp/porting-fresh.db
GO ?= go

.PHONY: build test db lint audit bench catalog-check

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

# audit re-runs the gates of every verified item in porting.db; it writes nothing.
audit:
	$(GO) run ./cmd/porttrack audit

# bench runs raftport, hashicorp/raft and etcd raft on one workload in one
# process and prints the ratios; figures vary between runs, compare medians.
bench:
	$(GO) run ./cmd/raftbench

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
