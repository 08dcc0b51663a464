package raftport_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// TestProposeWaitAcrossStepDown proposes many commands at once on a
// three-node group's leader, which steps down meanwhile. Every ProposeWait
// ends with an outcome or ErrNotLeader or ErrOutcomeUnknown, and every
// reported outcome names the very command at (Index, Pos) of what the
// leader's apply queue delivered.
func TestProposeWaitAcrossStepDown(t *testing.T) {
	network := transport.NewNetwork(transport.NetworkOptions{NoEcho: true})
	defer network.Close()
	names := []string{"outcome-1", "outcome-2", "outcome-3"}
	var ids []string
	for _, name := range names {
		ids = append(ids, raftport.NodeID(name))
	}
	nodes := make([]raftport.RaftNode, len(names))
	logs := make([]*appliedLog, len(names))
	for i, name := range names {
		host := exampleHost(network, name)
		defer host.Shutdown()
		cfg := &raftport.RaftConfig{Name: "OUTCOME", Store: t.TempDir(), Log: storage.NewMemWAL()}
		if err := host.BootstrapRaftNode(cfg, ids, true); err != nil {
			t.Fatal(err)
		}
		node, err := host.StartRaftNode("", cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer node.Stop()
		nodes[i], logs[i] = node, &appliedLog{at: map[raftport.Outcome]string{}}
		go applyLoop(node, logs[i].record)
	}
	leader := -1
	for deadline := time.Now().Add(20 * time.Second); leader < 0; {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		for i, n := range nodes {
			if n.Leader() {
				leader = i
			}
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The first wave runs on a steady leader; the second races a
	// stepdown, which the leader takes once the wave's first command is
	// out.
	const wave = 100
	type result struct {
		cmd string
		at  raftport.Outcome
		err error
	}
	results := make(chan result, 2*wave)
	propose := func(first int, started chan<- struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		for i := first; i < first+wave; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := fmt.Sprintf("cmd-%d", i)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if i == first && started != nil {
					close(started)
				}
				at, err := nodes[leader].ProposeWait(ctx, []byte(cmd))
				results <- result{cmd, at, err}
			}()
		}
		return &wg
	}
	propose(0, nil).Wait()
	started := make(chan struct{})
	second := propose(wave, started)
	<-started
	_ = nodes[leader].StepDown()
	second.Wait()
	close(results)

	counts := map[string]int{}
	for r := range results {
		switch {
		case r.err == nil:
			counts["committed"]++
			got, ok := logs[leader].wait(r.at)
			if !ok || got != r.cmd {
				t.Errorf("%s committed at %+v, where the log has %q (found %v)", r.cmd, r.at, got, ok)
			}
		case errors.Is(r.err, raftport.ErrNotLeader):
			counts["not leader"]++
		case errors.Is(r.err, raftport.ErrOutcomeUnknown):
			counts["unknown"]++
		default:
			t.Errorf("%s: unexpected outcome %v", r.cmd, r.err)
		}
	}
	if counts["committed"] == 0 {
		t.Errorf("nothing committed: %v", counts)
	}
	t.Logf("outcomes: %v", counts)
}

// appliedLog records what a node's apply queue delivered, by position.
type appliedLog struct {
	mu sync.Mutex
	at map[raftport.Outcome]string
}

// record notes each entry of ce at its position.
func (l *appliedLog) record(ce *raftport.CommittedEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for pos, e := range ce.Entries {
		l.at[raftport.Outcome{Index: ce.Index, Pos: pos}] = string(e.Data)
	}
}

// wait returns what was applied at o, waiting a little for the apply queue
// (the outcome is reported at the commit, before the apply).
func (l *appliedLog) wait(o raftport.Outcome) (string, bool) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l.mu.Lock()
		cmd, ok := l.at[o]
		l.mu.Unlock()
		if ok {
			return cmd, true
		}
	}
	return "", false
}
