package raftport_test

// The harness's former vocabulary, on top of the new one, for the test
// files not yet rewritten in it. It goes once the last of them is.

import (
	"testing"

	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

type smFactory func(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, node raftport.RaftNode) stateMachine

type smGroup = group[stateMachine]

func asAny[M member](f machineFactory[M]) machineFactory[stateMachine] {
	return func(c *cluster, s *raftport.Server, cfg *raftport.RaftConfig, n raftport.RaftNode) stateMachine {
		return f(c, s, cfg, n)
	}
}

func legacyFactory(smf any) machineFactory[stateMachine] {
	switch f := smf.(type) {
	case func(*cluster, *raftport.Server, *raftport.RaftConfig, raftport.RaftNode) *stateAdder:
		return asAny(machineFactory[*stateAdder](f))
	case func(*cluster, *raftport.Server, *raftport.RaftConfig, raftport.RaftNode) stateMachine:
		return f
	case smFactory:
		return machineFactory[stateMachine](f)
	}
	panic("unknown state machine factory")
}

func (c *cluster) createRaftGroup(name string, numMembers int, smf any) smGroup {
	c.t.Helper()
	return placeGroup(c, name, numMembers, raftport.FileStorage, legacyFactory(smf))
}

func (c *cluster) createMemRaftGroup(name string, numMembers int, smf any) smGroup {
	c.t.Helper()
	return placeGroup(c, name, numMembers, raftport.MemoryStorage, legacyFactory(smf))
}

func (c *cluster) addRaftNode(name string, smf any) stateMachine {
	c.t.Helper()
	return joinGroup(c, name, raftport.FileStorage, legacyFactory(smf))
}

func (c *cluster) addMemRaftNode(name string, smf any) stateMachine {
	c.t.Helper()
	return joinGroup(c, name, raftport.MemoryStorage, legacyFactory(smf))
}

func initSingleMemRaftNode(t *testing.T) (raftport.RaftNode, *raftport.Probe, func()) {
	t.Helper()
	st := stepNode(t)
	return st.n, st.p, st.c.shutdown
}

func initSingleMemRaftNodeWithCluster(t *testing.T) (raftport.RaftNode, *raftport.Probe, *cluster) {
	t.Helper()
	st := stepNode(t)
	return st.n, st.p, st.c
}

func encode(t testing.TB, spec raftport.AppendEntrySpec) *raftport.AppendEntryMsg {
	t.Helper()
	return aeDraft(spec).wire(t)
}

func newMemWAL() storage.WAL { return storage.NewMemWAL() }

func deliverLive(t testing.TB, p *raftport.Probe, msg *raftport.AppendEntryMsg) {
	t.Helper()
	require_NoError(t, p.ProcessAppendEntry(msg, p.AESub()))
}

func deliverCatchup(t testing.TB, p *raftport.Probe, msg *raftport.AppendEntryMsg) {
	t.Helper()
	sub := p.CatchupSub()
	require_False(t, sub.IsZero())
	require_NoError(t, p.ProcessAppendEntry(msg, sub))
}

func processAE(t *testing.T, p *raftport.Probe, msg *raftport.AppendEntryMsg, via raftport.Sub) {
	t.Helper()
	require_NoError(t, p.ProcessAppendEntry(msg, via))
}

func requireCatchup(t *testing.T, p *raftport.Probe) raftport.CatchupView {
	t.Helper()
	cv, ok := p.Catchup()
	if !ok {
		t.Fatalf("expected the node to be catching up")
	}
	return cv
}
