package faults

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/transport"
)

// Kind is one kind of fault the nemesis injects.
type Kind string

const (
	Partition     Kind = "partition"      // a random majority cut off from the minority
	Bridge        Kind = "bridge"         // two sides that only one node connects
	IsolateLeader Kind = "isolate-leader" // the leader alone on one side
	Loss          Kind = "loss"           // 20% of node-to-node messages lost
	Duplicate     Kind = "duplicate"      // 20% delivered twice
	Reorder       Kind = "reorder"        // 30% overtaken, plus 0-5ms delays
	Crash         Kind = "crash"          // a node killed, restarted on its storage
	PowerLossOne  Kind = "power-loss-one" // a node's power cut: unsynced bytes lost
	PowerLossAll  Kind = "power-loss-all" // every node's power cut at once
	Pause         Kind = "pause"          // a node's goroutines frozen
	StepDown      Kind = "step-down"      // the leader steps down
	Transfer      Kind = "transfer"       // the leader hands over to a follower
	Membership    Kind = "membership"     // a follower removed, a fresh node added
	Snapshot      Kind = "snapshot"       // every node snapshots and compacts now
)

// AllKinds is every fault, for mixed runs.
var AllKinds = []Kind{Partition, Bridge, IsolateLeader, Loss, Duplicate, Reorder, Crash,
	PowerLossOne, PowerLossAll, Pause, StepDown, Transfer, Membership, Snapshot}

// step is one fault of a schedule: what, when, for how long, and a number
// that picks its targets when it runs (who leads then is not known now).
type step struct {
	At   time.Duration
	For  time.Duration
	Kind Kind
	Pick uint64
}

func (s step) String() string {
	return fmt.Sprintf("%6.2fs %-14s for %v", s.At.Seconds(), s.Kind, s.For.Round(time.Millisecond))
}

// newSchedule draws a fault schedule from the seed: a fault starts every
// 0.2-0.8s and lasts 0.3-1.5s, so with several kinds they overlap.
func newSchedule(seed int64, kinds []Kind, duration time.Duration) []step {
	if len(kinds) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	var steps []step
	for at := 300 * time.Millisecond; at < duration; at += time.Duration(200+rng.IntN(600)) * time.Millisecond {
		steps = append(steps, step{
			At:   at,
			For:  time.Duration(300+rng.IntN(1200)) * time.Millisecond,
			Kind: kinds[rng.IntN(len(kinds))],
			Pick: rng.Uint64(),
		})
	}
	return steps
}

func formatSchedule(steps []step) string {
	if len(steps) == 0 {
		return "  (no faults)\n"
	}
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "  %s\n", s)
	}
	return b.String()
}

// nemesis runs a schedule against a cluster, one step at a time, and
// undoes each step when its time is up.
type nemesis struct {
	c     *cluster
	start time.Time
	logf  func(string, ...any)

	mu        sync.Mutex // guards the cluster's members and the fields below
	partition uint64     // which step's partition is in force, 0 for none
	injected  map[Kind]int
	events    []string
	membBusy  bool
	wg        sync.WaitGroup
}

func newNemesis(c *cluster, logf func(string, ...any)) *nemesis {
	return &nemesis{c: c, start: time.Now(), logf: logf, injected: map[Kind]int{}}
}

func (n *nemesis) event(format string, args ...any) {
	line := fmt.Sprintf("%6.2fs ", time.Since(n.start).Seconds()) + fmt.Sprintf(format, args...)
	n.events = append(n.events, line)
}

// run applies the steps at their times until done is closed.
func (n *nemesis) run(steps []step, done <-chan struct{}) {
	for i, s := range steps {
		select {
		case <-done:
			return
		case <-time.After(time.Until(n.start.Add(s.At))):
		}
		n.mu.Lock()
		undo := n.apply(uint64(i+1), s)
		n.mu.Unlock()
		if undo == nil {
			continue
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			select {
			case <-done:
			case <-time.After(s.For):
			}
			n.mu.Lock()
			undo()
			n.mu.Unlock()
		}()
	}
}

// stop waits for the pending undos, which done has released.
func (n *nemesis) stop() { n.wg.Wait() }

func pickFrom[T any](pick uint64, items []T) T { return items[pick%uint64(len(items))] }

func idsOf(ms []*member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.id)
	}
	return out
}

func namesOf(ms []*member) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.name)
	}
	return strings.Join(out, ",")
}

// apply injects one step and returns how to undo it (nil: nothing to undo
// or nothing done). n.mu is held.
func (n *nemesis) apply(id uint64, s step) func() {
	c := n.c
	rng := rand.New(rand.NewPCG(s.Pick, id))
	members := c.running()
	switch s.Kind {
	case Partition, Bridge, IsolateLeader:
		return n.applyPartition(id, s, rng)
	case Loss, Duplicate, Reorder:
		return n.applyRules(s)
	case Crash, PowerLossOne, Pause:
		// Keep a majority running, so the group can make progress.
		if len(members) == 0 || c.impaired() >= (c.groupSize()-1)/2 {
			return nil
		}
		m := pickFrom(s.Pick, members)
		n.injected[s.Kind]++
		switch s.Kind {
		case Crash:
			n.event("crash %s", m.name)
			c.crash(m)
		case PowerLossOne:
			n.event("power loss %s", m.name)
			if err := c.powerLoss(m); err != nil {
				n.event("power loss %s: %v", m.name, err)
			}
		case Pause:
			n.event("pause %s", m.name)
			m.paused = pauseNode(m.node.Raft())
			return func() {
				if m.paused != nil {
					n.event("resume %s", m.name)
					m.paused()
					m.paused = nil
				}
			}
		}
		return func() {
			if !m.up && m.inGrp {
				n.event("restart %s", m.name)
				c.restart(m)
			}
		}
	case PowerLossAll:
		if c.impaired() > 0 || len(members) == 0 {
			return nil
		}
		n.injected[s.Kind]++
		n.event("power loss of every node: %s", namesOf(members))
		if err := c.powerLoss(members...); err != nil {
			n.event("power loss: %v", err)
		}
		return func() {
			n.event("power back on %s", namesOf(members))
			for _, m := range members {
				c.restart(m)
			}
		}
	case StepDown, Transfer:
		l := c.leader()
		if l == nil {
			return nil
		}
		n.injected[s.Kind]++
		if s.Kind == StepDown {
			n.event("step down %s", l.name)
			_ = l.node.Raft().StepDown()
			return nil
		}
		var others []*member
		for _, m := range members {
			if m != l {
				others = append(others, m)
			}
		}
		if len(others) == 0 {
			return nil
		}
		to := pickFrom(s.Pick, others)
		n.event("transfer leadership %s -> %s", l.name, to.name)
		_ = l.node.Raft().StepDown(to.id)
		return nil
	case Membership:
		n.applyMembership(s, rng)
		return nil
	case Snapshot:
		n.injected[s.Kind]++
		n.event("snapshot on %s", namesOf(members))
		for _, m := range members {
			// Refused while a follower is caught up from the log: fine,
			// the next one will do.
			_ = m.node.Snapshot()
		}
		return nil
	}
	return nil
}

// applyPartition replaces the partition in force. Partitions cut the
// group's nodes (clients reach every node they can find).
func (n *nemesis) applyPartition(id uint64, s step, rng *rand.Rand) func() {
	c := n.c
	var group []*member
	for _, m := range c.members {
		if m.inGrp {
			group = append(group, m)
		}
	}
	rng.Shuffle(len(group), func(i, j int) { group[i], group[j] = group[j], group[i] })
	var sides [][]string
	var desc string
	switch s.Kind {
	case Partition:
		minority := (len(group) - 1) / 2
		sides = [][]string{idsOf(group[:minority]), idsOf(group[minority:])}
		desc = fmt.Sprintf("partition %s | %s", namesOf(group[:minority]), namesOf(group[minority:]))
	case Bridge:
		if len(group) < 3 {
			return nil
		}
		// One node sees both halves; the halves do not see each other.
		bridge, rest := group[0], group[1:]
		half := len(rest) / 2
		sides = [][]string{idsOf(rest[:half]), idsOf(rest[half:])}
		desc = fmt.Sprintf("bridge %s between %s | %s", bridge.name, namesOf(rest[:half]), namesOf(rest[half:]))
	case IsolateLeader:
		l := c.leader()
		if l == nil {
			return nil
		}
		var rest []*member
		for _, m := range group {
			if m != l {
				rest = append(rest, m)
			}
		}
		sides = [][]string{{l.id}, idsOf(rest)}
		desc = "isolate leader " + l.name
	}
	n.injected[s.Kind]++
	n.event("%s", desc)
	c.net.SetPartition(sides...)
	n.partition = id
	return func() {
		// Only the partition still in force is healed; a later one
		// replaced this one already.
		if n.partition == id {
			n.event("heal partition")
			c.net.SetPartition()
			n.partition = 0
		}
	}
}

// nodeLinks are the filters of every link between two node identities,
// so that faults hit the group's traffic and not the clients'.
func (n *nemesis) nodeLinks() []transport.Filter {
	return nodeLinks(n.c.ids())
}

func nodeLinks(ids []string) []transport.Filter {
	var out []transport.Filter
	for _, a := range ids {
		for _, b := range ids {
			if a != b {
				out = append(out, transport.Filter{From: a, To: b})
			}
		}
	}
	return out
}

func (n *nemesis) applyRules(s step) func() {
	c := n.c
	var rules []transport.RuleID
	for _, f := range n.nodeLinks() {
		switch s.Kind {
		case Loss:
			rules = append(rules, c.net.Drop(f, 0.2))
		case Duplicate:
			rules = append(rules, c.net.Duplicate(f, 0.2))
		case Reorder:
			rules = append(rules, c.net.Reorder(f, 0.3), c.net.Delay(f, 0, 5*time.Millisecond))
		}
	}
	n.injected[s.Kind]++
	n.event("%s on every node link", s.Kind)
	return func() {
		n.event("end %s", s.Kind)
		for _, r := range rules {
			c.net.RemoveRule(r)
		}
	}
}

// applyMembership removes a running follower and, once the removal has
// committed, wipes it and adds a node with a fresh identity (or one that
// left long enough ago). It runs in the background: a membership change
// under faults takes its time, and may not happen at all.
func (n *nemesis) applyMembership(s step, rng *rand.Rand) {
	c := n.c
	l := c.leader()
	// One change at a time, and only once the last one is complete: the
	// leader knows every node the suite put in the group.
	if l == nil || n.membBusy || c.impaired() > 0 || len(l.node.Raft().Peers()) != c.groupSize() || l.node.Raft().MembershipChangeInProgress() {
		return
	}
	var followers []*member
	for _, m := range c.running() {
		if m != l {
			followers = append(followers, m)
		}
	}
	var spare *member
	for _, m := range c.members {
		if !m.inGrp && !m.up && time.Since(m.left) > 2*c.timing.PeerRemoveTimeout {
			spare = m
			break
		}
	}
	if len(followers) == 0 || spare == nil {
		return
	}
	out := followers[rng.IntN(len(followers))]
	if err := l.node.Raft().ProposeRemovePeer(out.id); err != nil {
		return
	}
	n.injected[s.Kind]++
	n.membBusy = true
	n.event("remove %s (leader %s)", out.name, l.name)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		removed := n.waitRemoved(out.id, 5*time.Second)
		n.mu.Lock()
		defer n.mu.Unlock()
		n.membBusy = false
		if !removed {
			n.event("removal of %s not confirmed; it stays", out.name)
			return
		}
		n.event("removed %s; adding %s", out.name, spare.name)
		c.halt(out)
		out.inGrp, out.left = false, time.Now()
		c.wipe(out)
		peers := append(c.groupIDsLocked(), spare.id)
		spare.inGrp = true
		if err := c.start(spare, peers); err != nil {
			c.failed = append(c.failed, fmt.Errorf("adding %s: %w", spare.name, err))
		}
	}()
}

// waitRemoved waits until a leader no longer lists peer and has no
// membership change pending.
func (n *nemesis) waitRemoved(peer string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		n.mu.Lock()
		l := n.c.leader()
		ok := false
		if l != nil && !l.node.Raft().MembershipChangeInProgress() {
			ok = !slices.ContainsFunc(l.node.Raft().Peers(), func(p *raftport.Peer) bool { return p.ID == peer })
		}
		n.mu.Unlock()
		if ok {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
