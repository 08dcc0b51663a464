package raftport_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// exampleHost is one host on an in-process network, with timing short
// enough for an example.
// Its nodes share one connection, which outlives them.
func exampleHost(network *transport.Network, name string) *raftport.Server {
	return timedHost(network, name, raftport.Timing{
		MinElectionTimeout: 50 * time.Millisecond, MaxElectionTimeout: 100 * time.Millisecond,
		HeartbeatInterval: 20 * time.Millisecond,
	})
}

// timedHost is exampleHost with the given timing.
func timedHost(network *transport.Network, name string, timing raftport.Timing) *raftport.Server {
	conn, err := network.Dial(raftport.NodeID(name))
	if err != nil {
		panic(err)
	}
	s, err := raftport.NewServer(raftport.ServerConfig{
		Name:    name,
		Connect: func(string) (transport.Conn, error) { return conn, nil },
		Timing:  timing,
	})
	if err != nil {
		panic(err)
	}
	return s
}

// applyLoop is the state machine's side of a node: it takes every
// CommittedEntry from the apply queue, hands it to apply and calls Applied
// for it, also for those without Entries (the node's own entries, such as
// a new leader's peer state, arrive empty). A node whose application skips
// them has its applied index lag its commit, and never campaigns or
// reports Leader().
func applyLoop(node raftport.RaftNode, apply func(*raftport.CommittedEntry)) {
	q := node.ApplyQ()
	for {
		select {
		case <-node.QuitC():
			return
		case <-q.Ch():
		}
		for _, ce := range q.Pop() {
			if ce == nil {
				continue // the end of a replay or of a catchup
			}
			apply(ce)
			node.Applied(ce.Index)
			ce.ReturnToPool()
		}
	}
}

// commands sends each command of a batch to out.
func commands(out chan<- string) func(*raftport.CommittedEntry) {
	return func(ce *raftport.CommittedEntry) {
		for _, e := range ce.Entries {
			if e.Type == raftport.EntryNormal {
				out <- string(e.Data)
			}
		}
	}
}

// waitLeader waits until node leads: it has won an election and applied
// what its term started with.
func waitLeader(node raftport.RaftNode) {
	for !node.Leader() {
		time.Sleep(5 * time.Millisecond)
	}
}

// Example runs a group of one node in process: it bootstraps the store,
// starts the node on an in-memory log, applies what commits, and proposes
// a command with ProposeWait, which says where it committed.
func Example() {
	network := transport.NewNetwork(transport.NetworkOptions{NoEcho: true})
	defer network.Close()
	host := exampleHost(network, "example-1")
	defer host.Shutdown()

	store, _ := os.MkdirTemp("", "raftport-example")
	defer os.RemoveAll(store)
	cfg := &raftport.RaftConfig{Name: "EXAMPLE", Store: store, Log: storage.NewMemWAL()}
	if err := host.BootstrapRaftNode(cfg, []string{host.ID()}, true); err != nil {
		panic(err)
	}
	node, err := host.StartRaftNode("", cfg)
	if err != nil {
		panic(err)
	}
	applied := make(chan string, 16)
	go applyLoop(node, commands(applied))
	waitLeader(node)

	// One index names a batch of commands (a CommittedEntry); the outcome
	// gives the command's position in it too.
	at, err := node.ProposeWait(context.Background(), []byte("x=1"))
	fmt.Println("committed:", err == nil, "position", at.Pos, "of batch", at.Index)
	fmt.Println("applied:", <-applied)

	// After a stepdown this node refuses proposals: the exported errors
	// tell the cases apart.
	_ = node.StepDown()
	_, err = node.ProposeWait(context.Background(), []byte("x=2"))
	fmt.Println("after stepdown:", errors.Is(err, raftport.ErrNotLeader))
	node.Stop()
	node.WaitForStop()
	// Output:
	// committed: true position 0 of batch 2
	// applied: x=1
	// after stepdown: true
}

// ExampleRaftConfig_restart stops a node and starts it again on the same
// store directory and log. The node owns its Log from the start until
// Stop, which closes it; for a restart the caller reopens the log (a
// FileWAL with storage.OpenFileWAL on the same directory, a MemWAL with
// Reopen) and passes it to the new node. The store directory holds the
// term the node took part in (tav.idx), so the new node knows that it
// restarts: RaftConfig.Recovering may stay false.
func ExampleRaftConfig_restart() {
	network := transport.NewNetwork(transport.NetworkOptions{NoEcho: true})
	defer network.Close()
	host := exampleHost(network, "example-2")
	defer host.Shutdown()

	store, _ := os.MkdirTemp("", "raftport-restart")
	defer os.RemoveAll(store)
	wal := storage.NewMemWAL()
	cfg := &raftport.RaftConfig{Name: "RESTART", Store: store, Log: wal}
	if err := host.BootstrapRaftNode(cfg, []string{host.ID()}, true); err != nil {
		panic(err)
	}
	run := func() (raftport.RaftNode, chan string) {
		node, err := host.StartRaftNode("", cfg)
		if err != nil {
			panic(err)
		}
		applied := make(chan string, 16)
		go applyLoop(node, commands(applied))
		waitLeader(node)
		return node, applied
	}

	node, applied := run()
	if _, err := node.ProposeWait(context.Background(), []byte("kept")); err != nil {
		panic(err)
	}
	fmt.Println("first run applied:", <-applied)
	node.Stop()
	node.WaitForStop()

	// The log is closed now, with its entries; reopen it for the next run,
	// which replays them to the state machine.
	cfg.Log = wal.Reopen()
	node, applied = run()
	fmt.Println("second run replayed:", <-applied)
	node.Stop()
	node.WaitForStop()
	// Output:
	// first run applied: kept
	// second run replayed: kept
}
