package faults

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/porttrack-dev/porttrack/examples/kv"
)

// opInput is a client command as the model sees it.
type opInput struct {
	Op    kv.Op
	Key   string
	Value string
	Old   string
}

// opOutput is its result; Unknown means the client never learned it.
type opOutput struct {
	kv.Result
	Unknown bool
}

// op is one command of the history, with the session that sent it.
type op struct {
	Client  int
	Session uint64
	Seq     uint64
	In      opInput
	Out     opOutput
	Call    time.Duration
	Return  time.Duration
}

func (o op) String() string {
	res := "unknown"
	if !o.Out.Unknown {
		switch o.In.Op {
		case kv.OpGet:
			res = "not found"
			if o.Out.Found {
				res = fmt.Sprintf("%q", o.Out.Value)
			}
		case kv.OpPut:
			res = "ok"
		case kv.OpCAS:
			res = fmt.Sprintf("swapped=%v", o.Out.OK)
		}
	}
	cmd := kv.Command{Op: o.In.Op, Key: o.In.Key, Value: o.In.Value, Old: o.In.Old}
	ret := "      -"
	if !o.Out.Unknown {
		ret = fmt.Sprintf("%7.3f", o.Return.Seconds())
	}
	return fmt.Sprintf("[%7.3f %s] client %d seq %d: %s -> %s", o.Call.Seconds(), ret, o.Client, o.Seq, cmd, res)
}

// history collects the ops of every client.
type history struct {
	start time.Time
	mu    sync.Mutex
	ops   []op
}

func newHistory() *history { return &history{start: time.Now()} }

func (h *history) now() time.Duration { return time.Since(h.start) }

func (h *history) add(o op) {
	h.mu.Lock()
	h.ops = append(h.ops, o)
	h.mu.Unlock()
}

func (h *history) all() []op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]op(nil), h.ops...)
}

// keyState is the model's state of one key.
type keyState struct {
	Found bool
	Value string
}

// kvModel is a linearizable register per key with compare-and-set. An op
// whose outcome is unknown may have taken effect at any point after its
// call, or never: it returns at the end of time, and its output is not
// checked.
var kvModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range history {
			k := o.Input.(opInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], o)
		}
		sort.Strings(keys)
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return keyState{} },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(keyState), input.(opInput), output.(opOutput)
		switch in.Op {
		case kv.OpGet:
			return out.Unknown || (out.Found == st.Found && (!st.Found || out.Value == st.Value)), st
		case kv.OpPut:
			return true, keyState{Found: true, Value: in.Value}
		case kv.OpCAS:
			swap := st.Found && st.Value == in.Old
			if !out.Unknown && out.OK != swap {
				return false, st
			}
			if swap {
				return true, keyState{Found: true, Value: in.Value}
			}
			return true, st
		}
		return false, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(opInput), output.(opOutput)
		return fmt.Sprintf("%s -> %+v", kv.Command{Op: in.Op, Key: in.Key, Value: in.Value, Old: in.Old}, out)
	},
}

// toPorcupine turns ops into porcupine's history. Reads whose outcome is
// unknown are left out: they changed nothing and nobody saw them.
func toPorcupine(ops []op) []porcupine.Operation {
	var out []porcupine.Operation
	for _, o := range ops {
		if o.Out.Unknown && o.In.Op == kv.OpGet {
			continue
		}
		ret := int64(o.Return)
		if o.Out.Unknown {
			ret = math.MaxInt64
		}
		out = append(out, porcupine.Operation{ClientId: o.Client, Input: o.In, Call: int64(o.Call), Output: o.Out, Return: ret})
	}
	return out
}

// checkLinearizable checks ops; timeout bounds the search (porcupine then
// answers Unknown, which the suite reports as a failure to decide).
func checkLinearizable(ops []op, timeout time.Duration) porcupine.CheckResult {
	return porcupine.CheckOperationsTimeout(kvModel, toPorcupine(ops), timeout)
}

// shortestFailing shrinks a non-linearizable history: it keeps the ops of
// the first key that fails alone, then drops ops one at a time while the
// rest still fails, within a bounded number of checks.
func shortestFailing(ops []op) []op {
	byKey := map[string][]op{}
	var keys []string
	for _, o := range ops {
		if _, ok := byKey[o.In.Key]; !ok {
			keys = append(keys, o.In.Key)
		}
		byKey[o.In.Key] = append(byKey[o.In.Key], o)
	}
	sort.Strings(keys)
	var cur []op
	for _, k := range keys {
		if checkLinearizable(byKey[k], 10*time.Second) == porcupine.Illegal {
			cur = byKey[k]
			break
		}
	}
	if cur == nil {
		return nil
	}
	budget := 2000
	for changed := true; changed && budget > 0; {
		changed = false
		for i := len(cur) - 1; i >= 0 && budget > 0; i-- {
			trial := append(append([]op(nil), cur[:i]...), cur[i+1:]...)
			if !explained(trial) {
				continue
			}
			budget--
			if checkLinearizable(trial, time.Second) == porcupine.Illegal {
				cur, changed = trial, true
			}
		}
	}
	return cur
}

// explained reports whether every value a read returned, or a successful
// compare-and-set matched, is written by an op of ops. Shrinking keeps to
// such histories: dropping the write a read saw would make any history
// fail, and show nothing of the real anomaly.
func explained(ops []op) bool {
	written := map[string]bool{}
	for _, o := range ops {
		if o.In.Op != kv.OpGet {
			written[o.In.Value] = true
		}
	}
	for _, o := range ops {
		if o.Out.Unknown {
			continue
		}
		if (o.In.Op == kv.OpGet && o.Out.Found && !written[o.Out.Value]) || (o.In.Op == kv.OpCAS && o.Out.OK && !written[o.In.Old]) {
			return false
		}
	}
	return true
}

func formatOps(ops []op) string {
	var b strings.Builder
	for _, o := range ops {
		fmt.Fprintf(&b, "  %s\n", o)
	}
	return b.String()
}
