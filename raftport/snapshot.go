package raftport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"os"
	"path/filepath"
	"slices"

	"github.com/porttrack-dev/porttrack/raftport/storage"
)

// A snapshot file holds, little-endian, as the reference's:
//
//	[0:8)   term of the last entry it covers
//	[8:16)  index of that entry
//	[16:20) length of the peer state
//	        peer state, then the state machine's data
//	        8-byte checksum of everything before it
//
// The reference keys a highwayhash with the group name; raftport uses
// CRC-64 (ECMA) from the standard library, which catches the same damage
// (bit flips, truncation) without pulling in a hash the module does not
// depend on. The whole file is then written through storage's atomic,
// checksummed file API, so a torn write is caught even before this
// checksum is looked at.
const snapChecksumLen = 8

var snapCRC = crc64.MakeTable(crc64.ECMA)

// encodeSnapshot serialises snap for its file.
// The caller holds the node lock.
func (n *raft) encodeSnapshot(snap *snapshot) []byte {
	if snap == nil {
		return nil
	}
	buf := make([]byte, 0, minSnapshotLen+len(snap.peerstate)+len(snap.data))
	buf = binary.LittleEndian.AppendUint64(buf, snap.lastTerm)
	buf = binary.LittleEndian.AppendUint64(buf, snap.lastIndex)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(snap.peerstate)))
	buf = append(buf, snap.peerstate...)
	buf = append(buf, snap.data...)
	return binary.LittleEndian.AppendUint64(buf, crc64.Checksum(buf, snapCRC))
}

// decodeSnapshot reads what encodeSnapshot wrote; any inconsistency is
// errSnapshotCorrupt.
func decodeSnapshot(buf []byte) (*snapshot, error) {
	if len(buf) < minSnapshotLen {
		return nil, fmt.Errorf("%w: %d bytes is too short", errSnapshotCorrupt, len(buf))
	}
	hoff := len(buf) - snapChecksumLen
	if got, want := crc64.Checksum(buf[:hoff], snapCRC), binary.LittleEndian.Uint64(buf[hoff:]); got != want {
		return nil, fmt.Errorf("%w: checksum %016x, want %016x", errSnapshotCorrupt, got, want)
	}
	psLen := uint64(binary.LittleEndian.Uint32(buf[16:]))
	if 20+psLen > uint64(hoff) {
		return nil, fmt.Errorf("%w: peer state of %d bytes overruns the file", errSnapshotCorrupt, psLen)
	}
	return &snapshot{
		lastTerm:  binary.LittleEndian.Uint64(buf[0:]),
		lastIndex: binary.LittleEndian.Uint64(buf[8:]),
		peerstate: buf[20 : 20+psLen],
		data:      buf[20+psLen : hoff],
	}, nil
}

// snapFilePath is where the snapshot covering (term, index) lives.
func (n *raft) snapFilePath(term, index uint64) string {
	return filepath.Join(n.sd, snapshotsDir, fmt.Sprintf(snapFileT, term, index))
}

// writeSnapshotFile stores an encoded snapshot atomically, creating the
// snapshots directory if a memory-WAL restart removed it.
func writeSnapshotFile(path string, encoded []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return storage.WriteFileAtomic(storage.OSFS{}, path, encoded)
}

// removeSnapFile deletes a superseded snapshot. Failing to is only worth a
// warning: recovery picks the newest snapshot and removes the others.
func (n *raft) removeSnapFile(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		n.warn("Could not remove old snapshot %q: %v", path, err)
	}
}

// SendSnapshot replicates data as a snapshot entry. It does not check
// leadership: a group being scaled up sends its state this way from the
// node that holds it.
func (n *raft) SendSnapshot(data []byte) error {
	n.Lock()
	defer n.Unlock()
	return n.sendAppendEntryLocked([]*Entry{newEntry(EntrySnapshot, data)}, false)
}

// InstallSnapshot saves data as the state at the applied index and
// compacts the log up to it. The state machine must have applied exactly
// what it reported through Applied. force installs even while followers
// are being caught up from the log.
func (n *raft) InstallSnapshot(data []byte, force bool) error {
	n.Lock()
	defer n.Unlock()
	c, err := n.createSnapshotCheckpointLocked(force)
	if err == nil {
		n.debug("Writing a %d byte snapshot at [%d:%d]", len(data), c.term, c.applied)
		err = n.installSnapshot(c.snapshotOf(data))
	}
	return err
}

// installSnapshot writes snap, drops the previous snapshot and compacts
// the log. It also ends any checkpoint in progress, so that an
// asynchronous snapshot built from older state cannot overwrite this one.
// A failed write leaves the log intact (no write error of the node); a
// failed compaction is one. Lock held.
func (n *raft) installSnapshot(snap *snapshot) error {
	defer n.endSnapshotting()
	path := n.snapFilePath(snap.lastTerm, snap.lastIndex)
	err := writeSnapshotFile(path, n.encodeSnapshot(snap))
	if err == nil {
		n.replaceSnapFile(path)
		err = n.compactThrough(snap.lastIndex)
	}
	return err
}

// endSnapshotting ends the checkpoint in progress, if any. Lock held.
func (n *raft) endSnapshotting() { n.snapshotting = false }

// replaceSnapFile makes path our snapshot, removing the one it supersedes.
// Lock held.
func (n *raft) replaceSnapFile(path string) {
	if old := n.snapfile; old != "" && old != path {
		n.removeSnapFile(old)
	}
	n.snapfile = path
}

// compactThrough drops the log up to index, which our snapshot holds. A
// failure is a write error of the node. Lock held.
func (n *raft) compactThrough(index uint64) error {
	if err := n.wal.Compact(index + 1); err != nil {
		n.setWriteErrLocked(err)
		return err
	}
	n.compacted(index)
	return nil
}

// compacted records that the log now starts after index. Lock held.
func (n *raft) compacted(index uint64) {
	n.papplied, n.bytes = index, n.wal.State().Bytes
}

// NeedSnapshot reports whether the upper layer should install a snapshot:
// it has applied more than one entry and none was ever taken.
func (n *raft) NeedSnapshot() bool {
	n.RLock()
	defer n.RUnlock()
	return n.snapfile == "" && n.applied > 1
}

// termAndIndexFromSnapFile parses a snapshot file name (a path is fine).
// The name must be exactly what snapFileT makes: Sscanf stops at its last
// verb, so "snap.1.2.bak" would parse too.
func termAndIndexFromSnapFile(sn string) (term, index uint64, err error) {
	base := filepath.Base(sn)
	_, scanErr := fmt.Sscanf(base, snapFileT, &term, &index)
	if sn == "" || scanErr != nil || fmt.Sprintf(snapFileT, term, index) != base {
		return 0, 0, errBadSnapName
	}
	return term, index, nil
}

// newestSnapshot picks, among the names of the snapshots directory, the
// newest snapshot (highest term, then index), and lists the names that
// are no snapshot's: leftovers of an interrupted write, foreign files.
func newestSnapshot(names []string) (newest string, junk []string) {
	var best [2]uint64
	for _, name := range names {
		term, index, err := termAndIndexFromSnapFile(name)
		switch {
		case err != nil:
			junk = append(junk, name)
		case newest == "" || term > best[0] || term == best[0] && index > best[1]:
			newest, best = name, [2]uint64{term, index}
		}
	}
	return newest, junk
}

// setupLastSnapshot recovers the newest snapshot at startup (see
// restoreSnapshot). Files that are no snapshot go at once, older
// snapshots once the newest has proven readable. errNoSnapAvailable means
// there is no snapshots directory.
func (n *raft) setupLastSnapshot() error {
	dir := filepath.Join(n.sd, snapshotsDir)
	names, err := storage.OSFS{}.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return errNoSnapAvailable
	} else if err != nil {
		return err
	}
	newest, junk := newestSnapshot(names)
	for _, name := range junk {
		n.debug("Deleting snapshot file with an unrecognised name: %q", name)
		_ = os.Remove(filepath.Join(dir, name))
	}
	if newest == "" {
		return nil
	}

	n.Lock()
	defer n.Unlock()
	n.snapfile = filepath.Join(dir, newest)
	if err := n.restoreSnapshot(); err != nil {
		return err
	}
	for _, name := range names {
		if name != newest && !slices.Contains(junk, name) {
			n.debug("Deleting superseded snapshot %q", name)
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
	return nil
}

// restoreSnapshot takes our log position, commit and peer state from the
// snapshot file, queues the snapshot for the state machine and compacts
// the log past it. Only commit moves: applied catches up once the state
// machine applied the snapshot. Lock held.
func (n *raft) restoreSnapshot() error {
	snap, err := n.loadLastSnapshot()
	if err != nil {
		return err
	}
	ps, err := decodePeerState(snap.peerstate)
	if err != nil {
		return err
	}
	n.pterm, n.pindex, n.commit = snap.lastTerm, snap.lastIndex, snap.lastIndex
	n.papplied = snap.lastIndex
	n.logRewritten()
	n.processPeerState(ps)
	n.extSt = ps.domainExt
	n.apply.Push(newCommittedEntry(snap.lastIndex, []*Entry{newEntry(EntrySnapshot, snap.data)}))
	return n.compactThrough(snap.lastIndex)
}

// loadLastSnapshot reads and verifies the current snapshot file. A damaged
// file is reported as errSnapshotCorrupt and never returned. A snapshot at
// index 0, which an old reference release could write, is removed and
// reported as errNoSnapAvailable, so no caller has to handle a missing
// snapshot without an error.
// The caller holds the node lock.
func (n *raft) loadLastSnapshot() (*snapshot, error) {
	if n.snapfile == "" {
		return nil, errNoSnapAvailable
	}
	buf, err := storage.ReadFileChecked(storage.OSFS{}, n.snapfile)
	if err != nil {
		n.warn("Snapshot file is unreadable: %v", err)
		if errors.Is(err, storage.ErrCorrupt) {
			return nil, fmt.Errorf("%w: %w", errSnapshotCorrupt, err)
		}
		return nil, err
	}
	snap, err := decodeSnapshot(buf)
	if err != nil {
		n.warn("Snapshot %q corrupt: %v", n.snapfile, err)
		return nil, err
	}
	if snap.lastIndex == 0 {
		n.warn("Snapshot claims last index 0, which cannot be valid; deleting it")
		_ = os.Remove(n.snapfile)
		n.snapfile = ""
		return nil, errNoSnapAvailable
	}
	return snap, nil
}
