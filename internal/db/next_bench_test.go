package db

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// scaleCatalog is a plan of the NATS server's size as import go makes it:
// 91 batches without dependencies, 3,900 features, 3,800 tests and 11,000
// calls, most inside a batch, some across, with cycles.
func scaleCatalog() *Catalog {
	rng := rand.New(rand.NewPCG(1, 2))
	c := &Catalog{}
	const batches, features, tests, calls = 91, 3900, 3800, 11000
	for b := 1; b <= batches; b++ {
		c.Batches = append(c.Batches, Batch{ID: b, Name: fmt.Sprintf("file%d.go", b), Status: BatchPending, DependsOn: []int{}})
	}
	batchOf := func(id, n int) int { return 1 + (id-1)*batches/n }
	for id := 1; id <= features; id++ {
		c.Items = append(c.Items, Item{Kind: KindFeature, ID: id, BatchID: batchOf(id, features), GoSymbol: fmt.Sprintf("f%d", id), Status: StatusDeferred, Reason: InitialReason})
	}
	for id := 1; id <= tests; id++ {
		c.Items = append(c.Items, Item{Kind: KindTest, ID: id, BatchID: batchOf(id, tests), GoSymbol: fmt.Sprintf("Test%d", id), Status: StatusDeferred, Reason: InitialReason})
	}
	seen := map[[2]int]bool{}
	for len(c.Calls) < calls {
		caller := 1 + rng.IntN(features)
		callee := caller + rng.IntN(80) - 20
		if rng.IntN(5) == 0 {
			callee = 1 + rng.IntN(features)
		}
		if callee < 1 || callee > features || callee == caller || seen[[2]int{caller, callee}] {
			continue
		}
		seen[[2]int{caller, callee}] = true
		c.Calls = append(c.Calls, [2]int{caller, callee})
	}
	return c
}

func BenchmarkPlanNext(b *testing.B) {
	c := scaleCatalog()
	for b.Loop() {
		plan := PlanNext(c, 0, 20)
		if plan.Total != len(c.Items) {
			b.Fatalf("%d to take of %d", plan.Total, len(c.Items))
		}
	}
}
