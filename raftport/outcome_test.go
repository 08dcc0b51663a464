package raftport

import (
	"errors"
	"testing"
)

// TestOutcomeTracker walks waits through the tracker's stages and checks
// the outcome each ends with.
func TestOutcomeTracker(t *testing.T) {
	type step func(t *outcomeTracker, ws []*waiter)
	for _, tc := range []struct {
		name  string
		steps []step
		want  []waitResult // per waiter
	}{
		{"committed at its position", []step{
			func(t *outcomeTracker, ws []*waiter) {
				t.claim(ws[0])
				t.claim(ws[1])
				t.place([]*waiter{nil, ws[0], ws[1]}, 7)
			},
			func(t *outcomeTracker, ws []*waiter) {
				for _, w := range t.take(7) {
					t.settle(w, waitResult{at: Outcome{Index: 7, Pos: w.pos}})
				}
			},
		}, []waitResult{{at: Outcome{7, 1}}, {at: Outcome{7, 2}}}},
		{"queued when leadership is lost: refused", []step{
			func(t *outcomeTracker, ws []*waiter) { t.claim(ws[1]) },
			func(t *outcomeTracker, ws []*waiter) { t.leadershipLost() },
		}, []waitResult{{err: ErrNotLeader}, {err: ErrOutcomeUnknown}}},
		{"placed when leadership is lost: unknown", []step{
			func(t *outcomeTracker, ws []*waiter) { t.claim(ws[0]); t.claim(ws[1]); t.place(ws, 3) },
			func(t *outcomeTracker, ws []*waiter) { t.leadershipLost() },
		}, []waitResult{{err: ErrOutcomeUnknown}, {err: ErrOutcomeUnknown}}},
		{"send failed: its error", []step{
			func(t *outcomeTracker, ws []*waiter) { t.claim(ws[0]); t.claim(ws[1]); t.place(ws, 3) },
			func(t *outcomeTracker, ws []*waiter) { t.unplace(ws, ErrNotLeader) },
		}, []waitResult{{err: ErrNotLeader}, {err: ErrNotLeader}}},
		{"decided once: a later leadership loss changes nothing", []step{
			func(t *outcomeTracker, ws []*waiter) { t.claim(ws[0]); t.claim(ws[1]); t.place(ws, 4) },
			func(t *outcomeTracker, ws []*waiter) {
				for _, w := range t.take(4) {
					t.settle(w, waitResult{at: Outcome{Index: 4, Pos: w.pos}})
				}
				t.leadershipLost()
			},
		}, []waitResult{{at: Outcome{4, 0}}, {at: Outcome{4, 1}}}},
	} {
		var tr outcomeTracker
		ws := []*waiter{tr.track(newWaiter()), tr.track(newWaiter())}
		for _, s := range tc.steps {
			s(&tr, ws)
		}
		for i, w := range ws {
			select {
			case got := <-w.done:
				if got.at != tc.want[i].at || !errors.Is(got.err, tc.want[i].err) || (got.err == nil) != (tc.want[i].err == nil) {
					t.Errorf("%s: waiter %d got %+v, want %+v", tc.name, i, got, tc.want[i])
				}
			default:
				t.Errorf("%s: waiter %d has no outcome", tc.name, i)
			}
		}
		if len(tr.live) != 0 {
			t.Errorf("%s: %d waits still live", tc.name, len(tr.live))
		}
	}
}

// TestOutcomeWithdraw: a caller that stops waiting withdraws a queued
// proposal, which is then not sent; a sent one is unknown; a decided one
// keeps its outcome.
func TestOutcomeWithdraw(t *testing.T) {
	var tr outcomeTracker
	queued, sent, decided := tr.track(newWaiter()), tr.track(newWaiter()), tr.track(newWaiter())
	tr.claim(sent)
	tr.claim(decided)
	tr.place([]*waiter{decided}, 9)
	tr.settle(decided, waitResult{at: Outcome{Index: 9}})

	ctxErr := errors.New("context canceled")
	if _, err := tr.withdraw(queued, ctxErr); err != ctxErr {
		t.Errorf("queued: %v, want the caller's error", err)
	}
	if tr.claim(queued) {
		t.Errorf("a withdrawn proposal is still sent")
	}
	if _, err := tr.withdraw(sent, ctxErr); err != ErrOutcomeUnknown {
		t.Errorf("sent: %v, want ErrOutcomeUnknown", err)
	}
	if at, err := tr.withdraw(decided, ctxErr); err != nil || at.Index != 9 {
		t.Errorf("decided: %v %v, want its commit at 9", at, err)
	}
}
