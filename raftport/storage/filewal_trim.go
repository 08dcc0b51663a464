package storage

import (
	"errors"
	"fmt"
	"path/filepath"
)

// Truncate removes every entry after index. It is durable when it returns:
// later segments are deleted newest first, each deletion synced, so a crash
// midway leaves a shorter but dense log; then the segment holding index is
// cut and fsynced.
func (w *FileWAL) Truncate(index uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.awaitIdle()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	if index == 0 {
		return w.resetLocked()
	}
	if index+1 < w.first {
		return fmt.Errorf("storage: truncate to %d: %w: entries below %d are compacted", index, ErrBadIndex, w.first)
	}
	if index >= w.last {
		return nil
	}
	w.bytes -= w.payloadBytes(max(index+1, w.first), w.last)
	for n := len(w.segs); n > 0 && w.segs[n-1].first > index; n-- {
		if err := w.removeSegment(w.segs[n-1]); err != nil {
			return w.fail(err)
		}
		w.segs = w.segs[:n-1]
		if err := w.syncDir(); err != nil {
			return w.fail(err)
		}
	}
	if n := len(w.segs); n > 0 {
		seg := w.segs[n-1]
		if keep := index + 1 - seg.first; keep < uint64(len(seg.recs)) {
			off := seg.recs[keep].off
			if err := seg.f.Truncate(off); err != nil {
				return w.fail(fmt.Errorf("truncating %s: %w", seg.path, err))
			}
			seg.recs = seg.recs[:keep:keep]
			seg.size, seg.alloc = off, off
		}
	}
	w.last = index
	for i := range w.cache {
		if i > index {
			delete(w.cache, i)
		}
	}
	// The cut segment is the active one; forcing its fsync makes the cut
	// durable.
	return w.syncAllLocked(true)
}

// resetLocked empties the log so the next Append gets index 1. Segments go
// first, newest first; the meta file is rewritten last, so a crash midway
// leaves a shorter log or an empty one at the old first index, never a gap.
func (w *FileWAL) resetLocked() error {
	for n := len(w.segs); n > 0; n-- {
		if err := w.removeSegment(w.segs[n-1]); err != nil {
			return w.fail(err)
		}
		w.segs = w.segs[:n-1]
		if err := w.syncDir(); err != nil {
			return w.fail(err)
		}
	}
	if err := w.writeMeta(1); err != nil {
		return w.fail(err)
	}
	w.first, w.last, w.bytes = 1, 0, 0
	clear(w.cache)
	w.syncedSeq = w.writeSeq
	return nil
}

// Compact removes every entry before index. The new first index is written
// to the meta file before any segment is deleted, so a crash midway leaves
// segments that recovery recognises as wholly compacted and deletes.
func (w *FileWAL) Compact(index uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.awaitIdle()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.flushLocked(); err != nil {
		return err
	}
	if index <= w.first {
		return nil
	}
	if err := w.writeMeta(index); err != nil {
		return w.fail(err)
	}
	w.bytes -= w.payloadBytes(w.first, min(index-1, w.last))
	removed := false
	for len(w.segs) > 0 && w.segs[0].lastIndex() < index {
		if err := w.removeSegment(w.segs[0]); err != nil {
			return w.fail(err)
		}
		w.segs = w.segs[1:]
		removed = true
	}
	if removed {
		if err := w.syncDir(); err != nil {
			return w.fail(err)
		}
	}
	w.first = index
	w.last = max(w.last, index-1)
	for i := range w.cache {
		if i < index {
			delete(w.cache, i)
		}
	}
	return nil
}

// Sync makes every appended entry durable; under SyncAlways there is
// nothing left to do once Append has returned.
func (w *FileWAL) Sync() error {
	w.mu.Lock()
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return err
	}
	seq := w.writeSeq
	w.mu.Unlock()
	return w.waitDurable(seq)
}

// Volatile is false: a FileWAL outlives the process.
func (w *FileWAL) Volatile() bool { return false }

// Close syncs and closes the segments. After a failure (including a CrashFS
// crash) it still releases everything and reports the failure.
func (w *FileWAL) Close() error {
	w.mu.Lock()
	w.awaitIdle()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	err := w.failed
	if err == nil {
		err = w.closeDurably()
	}
	w.closed = true
	err = errors.Join(err, w.closeFiles())
	w.cond.Broadcast()
	w.mu.Unlock()
	if w.stop != nil {
		close(w.stop)
		w.done.Wait()
	}
	return err
}

// Delete closes the WAL and removes its segments, meta file and directory.
func (w *FileWAL) Delete() error {
	err := w.Close()
	if errors.Is(err, ErrClosed) {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	errs := []error{err}
	for _, seg := range w.segs {
		errs = append(errs, removeIfExists(w.fs, seg.path))
	}
	w.segs = nil
	errs = append(errs,
		removeIfExists(w.fs, filepath.Join(w.dir, metaFile)),
		w.fs.Remove(w.dir),
		w.fs.SyncDir(filepath.Dir(w.dir)))
	return errors.Join(errs...)
}

// closeDurably makes everything written durable and leaves the active
// segment without the zeros ahead of its records.
func (w *FileWAL) closeDurably() error {
	if err := w.writePending(); err != nil {
		return err
	}
	cut := false
	if n := len(w.segs); n > 0 {
		var err error
		if cut, err = w.cutZeros(w.segs[n-1]); err != nil {
			return err
		}
	}
	return w.syncAllLocked(cut)
}

func (w *FileWAL) removeSegment(seg *segment) error {
	cerr := seg.f.Close()
	return errors.Join(cerr, w.fs.Remove(seg.path))
}

func (w *FileWAL) closeFiles() error {
	var errs []error
	for _, seg := range w.segs {
		errs = append(errs, seg.f.Close())
	}
	return errors.Join(errs...)
}
