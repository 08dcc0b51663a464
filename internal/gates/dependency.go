package gates

import (
	"context"
	"fmt"
	"strings"
)

// Dependency is the preflight gate: the batch can start, and no callee of a
// feature in the reference call graph is unfinished (see unfinished). It only
// reads the Input; the caller looks the statuses up in the tracker.
type Dependency struct{}

func (Dependency) Name() string { return GateDependency }

// unfinished statuses of a callee that block its callers.
var unfinished = map[string]bool{"deferred": true, "stub": true}

func (Dependency) Run(ctx context.Context, in *Input) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Result
	for _, it := range in.Items {
		r := Result{Gate: GateDependency, Kind: it.Kind, ItemID: it.ID}
		if !in.BatchCanStart {
			reason := in.BlockingReason
			if reason == "" {
				reason = "its dependencies are not complete"
			}
			r.Findings = append(r.Findings, Finding{Message: fmt.Sprintf("batch %d cannot start: %s", it.Batch, reason)})
		}
		if it.Kind == KindFeature {
			for _, c := range in.CalleeStatus[it.ID] {
				if unfinished[c.Status] {
					r.Findings = append(r.Findings, Finding{Message: fmt.Sprintf("callee %d %s is %s", c.ID, c.Symbol, c.Status)})
				}
			}
		}
		r.Passed = len(r.Findings) == 0
		if r.Passed {
			r.Summary = "batch can start"
			if it.Kind == KindFeature {
				r.Summary += fmt.Sprintf(", %s finished", plural(len(in.CalleeStatus[it.ID]), "callee"))
			}
		} else {
			msgs := make([]string, len(r.Findings))
			for i, f := range r.Findings {
				msgs[i] = f.Message
			}
			r.Summary = strings.Join(msgs, "; ")
		}
		out = append(out, r)
	}
	return out, nil
}
