package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Entry is one log entry for AppendEntries.
type Entry struct {
	Term uint64
	Data []byte
}

// Append stores data at LastIndex+1. Under SyncAlways it returns once the
// entry is durable, sharing its fsync with concurrent appenders.
func (w *FileWAL) Append(term uint64, data []byte) (uint64, error) {
	return w.AppendEntries([]Entry{{Term: term, Data: data}})
}

// AppendEntries stores entries at LastIndex+1 onwards, in one write per
// segment and, under SyncAlways, one fsync for the lot: a follower storing
// an AppendEntries message uses it. It returns the index of the first.
func (w *FileWAL) AppendEntries(entries []Entry) (uint64, error) {
	if len(entries) == 0 {
		return 0, errors.New("storage: AppendEntries needs at least one entry")
	}
	for _, e := range entries {
		if uint64(len(e.Data)) > maxPayload {
			return 0, fmt.Errorf("storage: entry of %d bytes exceeds the %d-byte record limit", len(e.Data), maxPayload)
		}
	}
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return 0, err
	}
	first := w.last + 1
	err := w.writeLocked(entries, false)
	seq := w.writeSeq
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if !w.policy.every {
		if err := w.waitDurable(seq); err != nil {
			return 0, err
		}
	}
	return first, nil
}

// Write stores data at LastIndex+1 without waiting for it to be durable;
// Await(ticket) does. Under SyncEvery the ticket is met at once, as the
// policy gives up durability on Append too.
func (w *FileWAL) Write(term uint64, data []byte) (uint64, Ticket, error) {
	return w.write(term, data, false)
}

// WriteOwned is Write without the copy of data the cache of recent
// entries otherwise keeps: the caller never writes to data again.
func (w *FileWAL) WriteOwned(term uint64, data []byte) (uint64, Ticket, error) {
	return w.write(term, data, true)
}

func (w *FileWAL) write(term uint64, data []byte, owned bool) (uint64, Ticket, error) {
	if uint64(len(data)) > maxPayload {
		return 0, 0, fmt.Errorf("storage: entry of %d bytes exceeds the %d-byte record limit", len(data), maxPayload)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return 0, 0, err
	}
	index := w.last + 1
	if err := w.writeLocked([]Entry{{Term: term, Data: data}}, owned); err != nil {
		return 0, 0, err
	}
	return index, Ticket(w.writeSeq), nil
}

// Await returns once every write up to t is durable, sharing the fsync
// with whoever else waits.
func (w *FileWAL) Await(t Ticket) error {
	if w.policy.every {
		return nil
	}
	return w.waitDurable(uint64(t))
}

func (w *FileWAL) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.failed
}

// fail poisons the WAL: after a failed write or fsync the file content is
// unknown (and Linux may drop the dirty pages an fsync failed on), so no
// later fsync could vouch for it. Reopening rereads what is really there.
func (w *FileWAL) fail(err error) error {
	if w.failed == nil {
		w.failed = fmt.Errorf("storage: WAL %s failed, reopen it to recover: %w", w.dir, err)
	}
	return w.failed
}

// maxPending is how many bytes of records wait in memory for the next
// sync round before a write hands them to the OS itself.
const maxPending = 1 << 20

// writeLocked adds entries' records to the pending bytes of the active
// segment (see FileWAL.pend). Under SyncEvery, or past maxPending, they go
// to the file at once: that policy promises that a process crash loses
// nothing written. The cache keeps entries' buffers themselves if owned,
// copies otherwise.
func (w *FileWAL) writeLocked(entries []Entry, owned bool) error {
	for len(entries) > 0 {
		seg, err := w.segmentFor(recordHeaderLen + int64(len(entries[0].Data)))
		if err != nil {
			return w.fail(err)
		}
		if len(w.pend) == 0 {
			w.pendOff = seg.size
		}
		next := w.last + 1
		n := 0
		for _, e := range entries {
			recLen := int64(recordHeaderLen + len(e.Data))
			if n > 0 && seg.size+recLen > w.segSize {
				break
			}
			seg.recs = append(seg.recs, recLoc{off: seg.size, term: e.Term, size: uint32(len(e.Data))})
			w.pend = appendRecord(w.pend, next+uint64(n), e.Term, e.Data)
			seg.size += recLen
			n++
		}
		for _, e := range entries[:n] {
			w.last++
			w.bytes += uint64(len(e.Data))
			w.writeSeq++
			w.stats.Appends++
			w.cachePut(w.last, e, owned)
		}
		entries = entries[n:]
	}
	if w.policy.every || len(w.pend) >= maxPending {
		return w.flushLocked()
	}
	return nil
}

// flushLocked writes the pending bytes to the active segment and keeps
// room ahead of them.
func (w *FileWAL) flushLocked() error {
	if len(w.pend) == 0 {
		return nil
	}
	if err := w.writePending(); err != nil {
		return err
	}
	return w.preallocate(w.segs[len(w.segs)-1])
}

// writePending writes the pending bytes to the active segment; a segment
// about to be sealed or closed needs no room after them.
func (w *FileWAL) writePending() error {
	if len(w.pend) == 0 {
		return nil
	}
	seg := w.segs[len(w.segs)-1]
	if _, err := seg.f.WriteAt(w.pend, w.pendOff); err != nil {
		return w.fail(fmt.Errorf("writing %s: %w", seg.path, err))
	}
	w.room.wrote += int64(len(w.pend))
	w.pend = w.pend[:0]
	return nil
}

// preallocChunk is how far ahead of its records the active segment is
// zero-filled. A write over bytes the file already holds leaves its
// length alone, so the fsync that makes a record durable has no file-size
// change to journal: on ext4 that is a data flush without a journal
// commit. The zeros cost a second write of the bytes, though, which the
// next fsync waits for: see zerosUpTo for when that is the dearer half.
const preallocChunk = 4 << 20

// zeros is what preallocate writes, in pieces of this size.
var zeros = make([]byte, 256<<10)

// zerosUpTo is the mean fsync size up to which the active segment gets
// zeros ahead. On this project's virtual disk (BenchmarkDeviceRoom in
// bench/, three logs at once), zeros ahead beat growing the file by 40%
// at 4 KiB per fsync and 15% at 32 KiB, and lost by 10-25% at 64-128
// KiB: there, writing every byte twice costs more than a journal commit.
const zerosUpTo = 48 << 10

// roomPlan follows how many bytes the active segment's fsyncs carry, to
// choose between zeros ahead and growing the file.
type roomPlan struct {
	wrote     int64 // record bytes handed to segment files so far
	syncedAt  int64 // wrote at the last fsync of a segment
	meanFsync int64 // moving mean of the bytes each fsync carried
}

// synced notes a segment's fsync, which carried what was written since
// the last one.
func (p *roomPlan) synced() {
	// A quarter weight follows a change of load within a few rounds and
	// does not flip on one odd round.
	p.meanFsync += (p.wrote - p.syncedAt - p.meanFsync) / 4
	p.syncedAt = p.wrote
}

// preallocate tops up the zeros ahead of the active segment's records once
// less than half a chunk is left, up to the segment size, unless fsyncs
// have been large (zerosUpTo): then the records grow the file. The zeros
// become durable with the next fsync, which a record is waiting for
// anyway; recovery keeps a zero tail of the last segment as room
// (checkSegment), and a segment without one is just as valid.
func (w *FileWAL) preallocate(seg *segment) error {
	seg.alloc = max(seg.alloc, seg.size)
	if seg.alloc-seg.size >= preallocChunk/2 || seg.alloc >= w.segSize || w.room.meanFsync > zerosUpTo {
		return nil
	}
	end := min(seg.size+preallocChunk, w.segSize)
	for seg.alloc < end {
		n := min(int64(len(zeros)), end-seg.alloc)
		if _, err := seg.f.WriteAt(zeros[:n], seg.alloc); err != nil {
			return w.fail(fmt.Errorf("zero-filling %s: %w", seg.path, err))
		}
		seg.alloc += n
	}
	return nil
}

// cutZeros removes the zeros ahead of a segment's records, before it is
// sealed or closed, so that a file holds exactly its records and only the
// active segment of an open WAL has room. It reports whether it cut; the
// cut is durable with the segment's next fsync.
func (w *FileWAL) cutZeros(seg *segment) (bool, error) {
	if seg.alloc <= seg.size {
		return false, nil
	}
	if err := seg.f.Truncate(seg.size); err != nil {
		return false, w.fail(fmt.Errorf("cutting the zeros of %s: %w", seg.path, err))
	}
	seg.alloc = seg.size
	return true, nil
}

// segmentFor returns the segment the next record of recLen bytes goes to,
// sealing the current one first if it is full. A sealed segment is fsynced
// before the next one gets a byte, so recovery finds torn records only at
// the end of the last segment.
func (w *FileWAL) segmentFor(recLen int64) (*segment, error) {
	if n := len(w.segs); n > 0 {
		active := w.segs[n-1]
		if active.size == 0 || active.size+recLen <= w.segSize {
			return active, nil
		}
		if err := w.writePending(); err != nil {
			return nil, err
		}
		if _, err := w.cutZeros(active); err != nil {
			return nil, err
		}
		if err := w.syncFile(active.f); err != nil {
			return nil, fmt.Errorf("sealing %s: %w", active.path, err)
		}
	}
	first := w.last + 1
	path := filepath.Join(w.dir, segmentName(first))
	f, err := w.fs.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating segment: %w", err)
	}
	seg := &segment{first: first, path: path, f: f}
	w.segs = append(w.segs, seg)
	w.dirDirty = true
	return seg, nil
}

func (w *FileWAL) cachePut(index uint64, e Entry, owned bool) {
	if w.cacheCap == 0 {
		return
	}
	data := e.Data
	if !owned {
		data = append([]byte(nil), data...)
	}
	w.cache[index] = memEntry{term: e.Term, data: data}
	if index > uint64(w.cacheCap) {
		delete(w.cache, index-uint64(w.cacheCap))
	}
}

// waitDurable returns once every write up to seq is fsynced. The caller
// that finds no sync round running starts one covering everything written
// so far; callers arriving meanwhile wait and then share the next round.
func (w *FileWAL) waitDurable(seq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.syncedSeq < seq {
		if w.failed != nil {
			return w.failed
		}
		if w.closed {
			return ErrClosed
		}
		if w.syncing {
			w.cond.Wait()
			continue
		}
		w.syncRound()
	}
	return nil
}

// syncRound fsyncs the active segment (and the directory if a segment was
// created) without holding mu, so appends keep writing meanwhile.
func (w *FileWAL) syncRound() {
	target := w.writeSeq
	if err := w.flushLocked(); err != nil {
		w.cond.Broadcast()
		return
	}
	w.syncing = true
	var f File
	if n := len(w.segs); n > 0 {
		f = w.segs[n-1].f
	}
	dirDirty := w.dirDirty
	w.dirDirty = false
	w.mu.Unlock()

	// The directory goes first so that the segment's own fsync is the last
	// step before the acknowledgement; see syncAllLocked.
	var err error
	if dirDirty {
		err = w.fs.SyncDir(w.dir)
	}
	if err == nil && f != nil {
		err = f.Sync()
	}

	w.mu.Lock()
	if f != nil {
		w.stats.Syncs++
		if err == nil {
			w.room.synced()
		}
	}
	w.syncing = false
	if err != nil {
		w.fail(err)
	} else {
		w.syncedSeq = max(w.syncedSeq, target)
	}
	w.cond.Broadcast()
}

// awaitIdle waits for a running sync round, so the caller (holding mu) may
// close or remove segment files.
func (w *FileWAL) awaitIdle() {
	for w.syncing {
		w.cond.Wait()
	}
}

// syncAllLocked makes everything written durable while mu is held; force
// fsyncs the active segment even without new appends (after a cut).
//
// Both here and in syncRound the directory is synced before the segment.
// Either order is durable on a real disk, but a file handle dies in a
// CrashFS crash while a directory sync cannot tell which side of the crash
// it runs on; ending with the handle's fsync means a crash racing this call
// makes it fail instead of acknowledging.
func (w *FileWAL) syncAllLocked(force bool) error {
	if err := w.flushLocked(); err != nil {
		return err
	}
	if w.dirDirty {
		if err := w.syncDir(); err != nil {
			return w.fail(err)
		}
	}
	if n := len(w.segs); n > 0 && (force || w.syncedSeq < w.writeSeq) {
		if err := w.syncFile(w.segs[n-1].f); err != nil {
			return w.fail(err)
		}
	}
	w.syncedSeq = w.writeSeq
	return nil
}

func (w *FileWAL) syncFile(f File) error {
	w.stats.Syncs++
	if err := f.Sync(); err != nil {
		return err
	}
	w.room.synced()
	return nil
}

func (w *FileWAL) syncDir() error {
	w.dirDirty = false
	return w.fs.SyncDir(w.dir)
}

// syncLoop drives SyncEvery. A failed fsync poisons the WAL, so the error
// reaches the node through its next call.
func (w *FileWAL) syncLoop() {
	defer w.done.Done()
	t := time.NewTicker(w.policy.interval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			if err := w.Sync(); errors.Is(err, ErrClosed) {
				return
			}
		}
	}
}

// Load reads index from its segment (or the cache of recent entries) and
// verifies it; damage gives an error wrapping ErrCorrupt with file and
// offset.
func (w *FileWAL) Load(index uint64) (uint64, []byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, nil, ErrClosed
	}
	if index < w.first || index > w.last {
		return 0, nil, ErrNotFound
	}
	if e, ok := w.cache[index]; ok {
		return e.term, append([]byte(nil), e.data...), nil
	}
	seg, loc := w.locate(index)
	buf := make([]byte, recordHeaderLen+int(loc.size))
	if seg == w.segs[len(w.segs)-1] && len(w.pend) > 0 && loc.off >= w.pendOff {
		copy(buf, w.pend[loc.off-w.pendOff:])
	} else if n, err := seg.f.ReadAt(buf, loc.off); err != nil {
		if errors.Is(err, io.EOF) && n < len(buf) {
			return 0, nil, corruptAt(seg.path, loc.off, "record cut short")
		}
		return 0, nil, fmt.Errorf("storage: reading WAL segment %s offset %d: %w", seg.path, loc.off, err)
	}
	if p := checksumProblem(buf); p != "" {
		return 0, nil, corruptAt(seg.path, loc.off, p)
	}
	if p := indexProblem(buf, index); p != "" {
		return 0, nil, corruptAt(seg.path, loc.off, p)
	}
	return binary.LittleEndian.Uint64(buf[16:24]), buf[recordHeaderLen:], nil
}

// locate finds the segment and record of an index the segments hold.
func (w *FileWAL) locate(index uint64) (*segment, recLoc) {
	i := sort.Search(len(w.segs), func(i int) bool { return w.segs[i].first > index }) - 1
	seg := w.segs[i]
	return seg, seg.recs[index-seg.first]
}

func (w *FileWAL) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := State{FirstIndex: w.first, LastIndex: w.last, Bytes: w.bytes}
	if w.last >= w.first {
		s.Entries = w.last - w.first + 1
		_, fl := w.locate(w.first)
		_, ll := w.locate(w.last)
		s.FirstTerm, s.LastTerm = fl.term, ll.term
	}
	return s
}
