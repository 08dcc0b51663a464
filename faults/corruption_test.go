package faults

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/porttrack-dev/porttrack/examples/kv"
	"github.com/porttrack-dev/porttrack/raftport"
	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// The corruption tests damage the files of one stopped follower of three
// and restart it. Either it repairs itself (gets what it lost back from the
// leader) or it refuses to start with an error naming the damaged file,
// and the test then does what the README tells an operator to do. Either
// way no acknowledged write is lost and no replica diverges.

// bench is a three-node group with a client whose every write is recorded.
type bench struct {
	t      *testing.T
	c      *cluster
	h      *history
	client *kv.Client
	n      int
}

func newBench(t *testing.T) *bench {
	t.Helper()
	cfg := Config{Seed: 1, Nodes: 3, SnapshotEvery: -1}.withDefaults()
	c, err := newCluster(cfg, t.TempDir(), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.shutdown)
	cl, err := c.client(0)
	if err != nil {
		t.Fatal(err)
	}
	return &bench{t: t, c: c, h: newHistory(), client: cl}
}

// write puts count values and records them; every one must be acknowledged.
func (b *bench) write(count int) {
	b.t.Helper()
	for range count {
		b.n++
		in := opInput{Op: kv.OpPut, Key: fmt.Sprintf("k%d", b.n%3), Value: fmt.Sprintf("v%d", b.n)}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		call := b.h.now()
		err := b.client.Put(ctx, in.Key, in.Value)
		cancel()
		if err != nil {
			b.t.Fatalf("put %d: %v", b.n, err)
		}
		b.h.add(op{Session: b.client.ID(), Seq: b.client.Seq(), In: in, Out: opOutput{Result: kv.Result{OK: true}}, Call: call, Return: b.h.now()})
	}
}

func (b *bench) leader() *member {
	b.t.Helper()
	var l *member
	if err := waitFor(20*time.Second, func() bool { l = b.c.leader(); return l != nil }); err != nil {
		b.t.Fatal("no leader")
	}
	return l
}

func (b *bench) follower() *member {
	b.t.Helper()
	l := b.leader()
	for _, m := range b.c.running() {
		if m != l {
			return m
		}
	}
	b.t.Fatal("no follower")
	return nil
}

// snapshotAll has every running node snapshot now.
func (b *bench) snapshotAll() {
	b.t.Helper()
	for _, m := range b.c.running() {
		if err := waitFor(10*time.Second, func() bool { return m.node.Snapshot() == nil }); err != nil {
			b.t.Fatalf("%s would not snapshot", m.name)
		}
	}
}

// check waits for the group to agree and checks every write.
func (b *bench) check() {
	b.t.Helper()
	b.write(5)
	r := &Report{Config: b.c.cfg}
	r.checkAfterHeal(b.c, b.h, []*kv.Client{b.client})
	r.Linearizable = checkLinearizable(b.h.all(), time.Minute)
	if err := r.Err(); err != nil {
		b.t.Fatalf("%v\n%s", err, r)
	}
}

// Paths of a member's files.
func walDir(m *member) string                 { return filepath.Join(m.dir(), "walfs", "wal") }
func storeDir(m *member) string               { return filepath.Join(m.dir(), "raft") }
func snapsDir(m *member) string               { return filepath.Join(storeDir(m), storage.SnapshotsDir) }
func stateFile(m *member, name string) string { return filepath.Join(storeDir(m), name) }

func segments(t *testing.T, m *member) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(walDir(m), "*.seg"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no WAL segment of %s: %v", m.name, err)
	}
	sort.Strings(paths)
	return paths
}

// recordOffsets lists where each record of a segment starts (the record
// layout of raftport/storage: a 4-byte payload length, then a 24-byte
// header in all).
func recordOffsets(t *testing.T, path string) ([]int, []byte) {
	t.Helper()
	buf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int
	for off := 0; off+24 <= len(buf); off += 24 + int(binary.LittleEndian.Uint32(buf[off:])) {
		offs = append(offs, off)
	}
	return offs, buf
}

func rewrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// restartDamaged starts m again on its damaged files. CrashFS saw none of
// the damage, so m gets a fresh one that takes the files as they are.
func (b *bench) restartDamaged(m *member) error {
	m.cfs = nil
	return b.c.start(m, nil)
}

// refused checks that m would not start and that its error names path.
func (b *bench) refused(m *member, path string) {
	b.t.Helper()
	err := b.restartDamaged(m)
	if err == nil {
		b.t.Fatalf("%s started on damaged %s", m.name, path)
	}
	if !strings.Contains(err.Error(), path) {
		b.t.Fatalf("%s refused to start, but the error does not name %s: %v", m.name, path, err)
	}
	b.t.Logf("refused, as it must: %v", err)
}

// removeLog is the operator's recovery from a damaged log or snapshot:
// remove both and restart; the node knows from its kept tav.idx and
// peers.idx that it restarts, abstains from votes and catches up.
func (b *bench) removeLog(m *member) {
	b.t.Helper()
	for _, dir := range []string{filepath.Join(m.dir(), "walfs"), snapsDir(m)} {
		if err := os.RemoveAll(dir); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := b.restartDamaged(m); err != nil {
		b.t.Fatalf("%s did not start after its log was removed: %v", m.name, err)
	}
}

// replace is the operator's recovery from damaged state files: remove the
// node from the group, and bring in a fresh one.
func (b *bench) replace(m *member) {
	b.t.Helper()
	l := b.leader()
	if err := l.node.Raft().ProposeRemovePeer(m.id); err != nil {
		b.t.Fatalf("removing %s: %v", m.name, err)
	}
	nem := newNemesis(b.c, b.t.Logf)
	if !nem.waitRemoved(m.id, 20*time.Second) {
		b.t.Fatalf("%s was not removed", m.name)
	}
	m.inGrp, m.left = false, time.Now()
	b.c.wipe(m)
	var spare *member
	for _, s := range b.c.members {
		if !s.inGrp && s != m {
			spare = s
			break
		}
	}
	spare.inGrp = true
	if err := b.c.start(spare, append(b.c.groupIDsLocked(), spare.id)); err != nil {
		b.t.Fatalf("starting the replacement %s: %v", spare.name, err)
	}
}

// damaged runs the common part: writes, one follower stops, more writes it
// misses, its files are damaged.
func damaged(t *testing.T, snapshot bool, damage func(m *member) string) (*bench, *member, string) {
	b := newBench(t)
	b.write(40)
	if snapshot {
		b.snapshotAll()
		b.write(10)
	}
	m := b.follower()
	b.c.crash(m)
	b.write(20)
	return b, m, damage(m)
}

// TestBitFlipInARecord: a flipped bit in a record before the last is
// reported by the log, naming the segment; the node refuses to start.
func TestBitFlipInARecord(t *testing.T) {
	b, m, path := damaged(t, false, func(m *member) string {
		seg := segments(t, m)[0]
		offs, buf := recordOffsets(t, seg)
		buf[offs[len(offs)/2]+24] ^= 0x04
		rewrite(t, seg, buf)
		return seg
	})
	b.refused(m, path)
	b.removeLog(m)
	b.check()
}

// TestTornRecordMidSegment: a record torn in the middle of a segment
// (zeros where its bytes were, good records after it) is corruption, not
// a crashed append: the node refuses to start, naming the segment.
func TestTornRecordMidSegment(t *testing.T) {
	b, m, path := damaged(t, false, func(m *member) string {
		seg := segments(t, m)[0]
		offs, buf := recordOffsets(t, seg)
		mid := offs[len(offs)/2]
		clear(buf[mid+4 : offs[len(offs)/2+1]])
		rewrite(t, seg, buf)
		return seg
	})
	b.refused(m, path)
	b.removeLog(m)
	b.check()
}

// TestTruncatedSnapshot: a snapshot cut short is detected by its
// checksum; the node refuses to start, naming the snapshot file.
func TestTruncatedSnapshot(t *testing.T) {
	b, m, path := damaged(t, true, func(m *member) string {
		snaps, err := filepath.Glob(filepath.Join(snapsDir(m), "snap.*"))
		if err != nil || len(snaps) != 1 {
			t.Fatalf("snapshots of %s: %v %v", m.name, snaps, err)
		}
		buf, err := os.ReadFile(snaps[0])
		if err != nil {
			t.Fatal(err)
		}
		rewrite(t, snaps[0], buf[:len(buf)/2])
		return snaps[0]
	})
	b.refused(m, path)
	b.removeLog(m)
	b.check()
}

// TestDamagedTermAndVote: a node that cannot read tav.idx has forgotten
// whom it voted for, and could vote twice in a term: it refuses to start
// naming the file, and is replaced.
func TestDamagedTermAndVote(t *testing.T) {
	b, m, path := damaged(t, false, func(m *member) string {
		path := stateFile(m, storage.TermVoteFile)
		buf, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		buf[0] ^= 0x01
		rewrite(t, path, buf)
		return path
	})
	b.refused(m, path)
	b.replace(m)
	b.check()
}

// TestDamagedPeerState: without a snapshot, peers.idx is the node's only
// record of its group; damaged, the node refuses to start naming it, and
// is replaced.
func TestDamagedPeerState(t *testing.T) {
	b, m, path := damaged(t, false, func(m *member) string {
		path := stateFile(m, storage.PeerStateFile)
		buf, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rewrite(t, path, buf[:len(buf)-1])
		return path
	})
	b.refused(m, path)
	b.replace(m)
	b.check()
}

// TestLostTailAbstains: a bit flipped in the last record of a follower's
// log cannot be told from a torn append, so the log cuts it, and with it
// an acknowledged write. The follower must then not help elect a leader
// that lacks the write: with the leader down and the third node (which
// never got it) back, nobody may win until the old leader returns.
// Without raftport's abstain rule the two elect each other and the write
// is gone.
func TestLostTailAbstains(t *testing.T) {
	b := newBench(t)
	b.write(20)
	l := b.leader()
	var lacking, holder *member
	for _, m := range b.c.running() {
		if m != l {
			if lacking == nil {
				lacking = m
			} else {
				holder = m
			}
		}
	}
	b.c.net.SetPartition([]string{lacking.id}, []string{l.id, holder.id})
	b.write(1) // committed by the leader and holder alone
	b.c.crash(holder)
	seg := segments(t, holder)
	last := seg[len(seg)-1]
	offs, buf := recordOffsets(t, last)
	buf[offs[len(offs)-1]+24] ^= 0x02
	rewrite(t, last, buf)
	b.c.crash(l)
	b.c.net.SetPartition()
	if err := b.restartDamaged(holder); err != nil {
		t.Fatalf("the cut tail should not stop %s: %v", holder.name, err)
	}

	// Several election timeouts: without abstaining, holder and lacking
	// elect one of them within one.
	deadline := time.Now().Add(10 * b.c.timing.MaxElectionTimeout)
	for time.Now().Before(deadline) {
		for _, m := range []*member{holder, lacking} {
			if m.node.Raft().State() == raftport.Leader {
				t.Fatalf("%s was elected by a node that lost an acknowledged write: the write is gone", m.name)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.c.restart(l)
	b.check()
}
