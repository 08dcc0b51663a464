// Package db stores the porting catalog, item statuses, their change log and
// the gate evidence that justifies promotions, in one SQLite file.
//
// Every status change goes through ChangeItemStatus, StartBatch or
// CompleteBatch, which check the promotion rules and write in one transaction:
// either every requested change lands together with its log rows, or nothing
// is written and a *RefusedError names the rule and the offending IDs.
package db

import (
	"fmt"
	"slices"
)

// ItemKind tells which number space an ID lives in: features and tests are
// numbered independently, so an ID alone is ambiguous.
type ItemKind string

const (
	KindFeature ItemKind = "feature"
	KindTest    ItemKind = "test"
	// KindBatch is only used for status_log and evidence rows about a batch.
	KindBatch ItemKind = "batch"
)

// table returns the table holding items of this kind; only feature and test
// kinds have one.
func (k ItemKind) table() (string, error) {
	switch k {
	case KindFeature:
		return "features", nil
	case KindTest:
		return "tests", nil
	}
	return "", &BadInputError{Msg: fmt.Sprintf("item kind %q has no item table", k)}
}

// Plural is used in user-facing messages ("features 2733,2734").
func (k ItemKind) Plural() string { return string(k) + "s" }

// Status of a feature or test.
type Status string

const (
	StatusDeferred Status = "deferred"
	StatusStub     Status = "stub"
	StatusComplete Status = "complete"
	StatusVerified Status = "verified"
	StatusNA       Status = "n_a"
)

// ItemStatuses lists the item statuses in workflow order.
var ItemStatuses = []Status{StatusDeferred, StatusStub, StatusComplete, StatusVerified, StatusNA}

// ParseStatus accepts one of ItemStatuses.
func ParseStatus(s string) (Status, error) {
	if slices.Contains(ItemStatuses, Status(s)) {
		return Status(s), nil
	}
	return "", &BadInputError{Msg: fmt.Sprintf("unknown status %q (want one of deferred, stub, complete, verified, n_a)", s)}
}

// BatchStatus of a batch.
type BatchStatus string

const (
	BatchPending    BatchStatus = "pending"
	BatchInProgress BatchStatus = "in_progress"
	BatchComplete   BatchStatus = "complete"
)

// Gate names one check whose outcome is recorded as evidence.
type Gate string

const (
	GateDependency Gate = "dependency"
	GateStub       Gate = "stub"
	GateBuild      Gate = "build"
	GateTest       Gate = "test"
	GateCoverage   Gate = "coverage"
	GateMutation   Gate = "mutation"
	GateCheckpoint Gate = "checkpoint"
	GateAudit      Gate = "audit"
)

// Gates lists every gate the evidence table accepts.
var Gates = []Gate{GateDependency, GateStub, GateBuild, GateTest, GateCoverage, GateMutation, GateCheckpoint, GateAudit}

// RequiredGates is the promotion policy: the gates that must have current,
// passing evidence before an item may move to complete or verified. It
// follows what the verify gates produce: complete asks that the item may be
// worked on (dependency), is no placeholder (stub) and builds (build);
// verified asks for the proof that tests exercise it. For a test that is its
// own passing run (test); for a feature it is coverage, which is a passing
// run of the claiming tests in which enough of the feature's statements ran.
func RequiredGates(kind ItemKind, to Status) []Gate {
	base := []Gate{GateDependency, GateStub, GateBuild}
	switch to {
	case StatusComplete:
		return base
	case StatusVerified:
		// Mutation is the test of the tests: a feature needs its kill rate
		// at the threshold, a test to have killed a mutant.
		if kind == KindTest {
			return append(base, GateTest, GateMutation)
		}
		return append(base, GateCoverage, GateMutation)
	}
	return nil
}

// OptionalGates are opt-in gates: an item is not held back for lacking their
// evidence, but once such evidence was taken on the current code it must have
// passed. None at present: mutation, once opt-in, is required for verified.
func OptionalGates(kind ItemKind, to Status) []Gate {
	return nil
}

// Batch is one row of batches with its dependency edges in both directions.
type Batch struct {
	ID          int         `json:"id"`
	Name        string      `json:"name"`
	GoFile      string      `json:"go_file"`
	Status      BatchStatus `json:"status"`
	Description string      `json:"description"`
	DependsOn   []int       `json:"depends_on"`
	// Gates are the batches that depend on this one and wait for it.
	Gates []int `json:"gates"`
}

// Item is a feature or a test.
type Item struct {
	Kind         ItemKind `json:"kind"`
	ID           int      `json:"id"`
	BatchID      int      `json:"batch"`
	Slice        string   `json:"slice"`
	GoFile       string   `json:"go_file"`
	GoSymbol     string   `json:"symbol"`
	GoLineStart  int      `json:"go_line_start"`
	GoLineEnd    int      `json:"go_line_end"`
	TargetFile   string   `json:"target_file"`
	TargetSymbol string   `json:"target_symbol"`
	Status       Status   `json:"status"`
	Reason       string   `json:"reason"`
	// MapReason says why the target is named otherwise than GoSymbol.
	MapReason string `json:"map_reason,omitempty"`
}

// LogEntry is one row of status_log.
type LogEntry struct {
	ID         int64    `json:"id"`
	Kind       ItemKind `json:"item_kind"`
	ItemID     int      `json:"item_id"`
	From       string   `json:"from_status"`
	To         string   `json:"to_status"`
	Reason     string   `json:"reason"`
	Actor      string   `json:"actor"`
	At         string   `json:"at"`
	EvidenceID *int64   `json:"evidence_id"`
}
