package transport

import (
	"fmt"
	"strings"
	"time"
)

// Filter selects the messages a fault rule applies to; an empty field
// matches anything.
type Filter struct {
	SubjectPrefix string
	From          string // publishing node ID
	To            string // receiving node ID
}

func (f Filter) matches(m Message) bool {
	return strings.HasPrefix(m.Subject, f.SubjectPrefix) &&
		(f.From == "" || f.From == m.From) &&
		(f.To == "" || f.To == m.To)
}

// RuleID names a fault rule so a test can remove it.
type RuleID uint64

type ruleKind int

const (
	dropRule ruleKind = iota
	dropNextRule
	duplicateRule
	delayRule
	reorderRule
)

type rule struct {
	id          RuleID
	kind        ruleKind
	filter      Filter
	probability float64
	remaining   int
	minDelay    time.Duration
	maxDelay    time.Duration
}

// fate is what the rules decided for one copy of a message.
type fate struct {
	drop    bool
	copies  int
	delay   time.Duration
	reorder bool
}

// The rule constructors panic on arguments no test could mean, such as a
// probability above 1: these are bugs in the test script.

// Drop loses each matching message with the given probability.
func (n *Network) Drop(f Filter, probability float64) RuleID {
	checkProbability("Drop", probability)
	return n.addRule(&rule{kind: dropRule, filter: f, probability: probability})
}

// DropNext loses the next count matching messages, then does nothing.
func (n *Network) DropNext(f Filter, count int) RuleID {
	if count < 0 {
		panic(fmt.Sprintf("transport: DropNext count %d is negative", count))
	}
	return n.addRule(&rule{kind: dropNextRule, filter: f, remaining: count})
}

// Duplicate delivers each matching message twice with the given
// probability; the copies arrive back to back.
func (n *Network) Duplicate(f Filter, probability float64) RuleID {
	checkProbability("Duplicate", probability)
	return n.addRule(&rule{kind: duplicateRule, filter: f, probability: probability})
}

// Delay holds each matching message for a duration drawn uniformly from
// [min, max]; a delayed message may be overtaken by later ones.
func (n *Network) Delay(f Filter, min, max time.Duration) RuleID {
	if min < 0 || max < min {
		panic(fmt.Sprintf("transport: Delay range [%v, %v] is not 0 <= min <= max", min, max))
	}
	return n.addRule(&rule{kind: delayRule, filter: f, minDelay: min, maxDelay: max})
}

// Reorder picks matching messages with the given probability and lets the
// next message to the same subscription overtake each one (see
// NetworkOptions.ReorderWindow).
func (n *Network) Reorder(f Filter, probability float64) RuleID {
	checkProbability("Reorder", probability)
	return n.addRule(&rule{kind: reorderRule, filter: f, probability: probability})
}

// RemoveRule deletes a rule and reports whether it existed.
func (n *Network) RemoveRule(id RuleID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, r := range n.rules {
		if r.id == id {
			n.rules = append(n.rules[:i], n.rules[i+1:]...)
			return true
		}
	}
	return false
}

// ClearRules deletes every fault rule; partitions stay.
func (n *Network) ClearRules() {
	n.mu.Lock()
	n.rules = nil
	n.mu.Unlock()
}

func checkProbability(what string, p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("transport: %s probability %v is outside [0, 1]", what, p))
	}
}

func (n *Network) addRule(r *rule) RuleID {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nextRule++
	r.id = n.nextRule
	n.rules = append(n.rules, r)
	return r.id
}

// decideLocked runs the partitions and rules, in the order the rules were
// added, over one copy of a message.
func (n *Network) decideLocked(m Message) fate {
	f := fate{copies: 1}
	if m.From != m.To && n.cutLocked(m.From, m.To) {
		f.drop = true
		return f
	}
	for _, r := range n.rules {
		if !r.filter.matches(m) {
			continue
		}
		switch r.kind {
		case dropRule:
			f.drop = n.rng.Float64() < r.probability
		case dropNextRule:
			if r.remaining > 0 {
				r.remaining--
				f.drop = true
			}
		case duplicateRule:
			if n.rng.Float64() < r.probability {
				f.copies++
			}
		case delayRule:
			f.delay += r.minDelay + time.Duration(n.rng.Int64N(int64(r.maxDelay-r.minDelay)+1))
		case reorderRule:
			if n.rng.Float64() < r.probability {
				f.reorder = true
			}
		}
		if f.drop {
			return f
		}
	}
	return f
}

// Partition cuts every node of each group off from every node of the
// other groups, both ways. Cuts add up until Heal.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cutBetweenLocked(groups)
}

// Block cuts messages from one node to another, in that direction only.
func (n *Network) Block(from, to string) {
	n.mu.Lock()
	n.blocked[link{from, to}] = struct{}{}
	n.mu.Unlock()
}

// Isolate cuts the given nodes off from every other node, both ways,
// including nodes that connect later.
func (n *Network) Isolate(nodeIDs ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range nodeIDs {
		n.isolated[id] = struct{}{}
	}
}

// Heal removes every partition, block and isolation; rules stay.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.blocked)
	clear(n.isolated)
}

func (n *Network) cutLocked(from, to string) bool {
	if _, ok := n.isolated[from]; ok {
		return true
	}
	if _, ok := n.isolated[to]; ok {
		return true
	}
	_, ok := n.blocked[link{from, to}]
	return ok
}
