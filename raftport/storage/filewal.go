package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// SyncPolicy says when a FileWAL fsyncs. The zero value is SyncAlways.
type SyncPolicy struct {
	every    bool
	interval time.Duration
}

// SyncAlways fsyncs before Append returns, so an acknowledged entry survives
// power loss. Appends that arrive while an fsync is in flight are written
// and then share the next single fsync (group commit).
var SyncAlways = SyncPolicy{}

// SyncEvery fsyncs in the background every d instead of in Append.
//
// UNSAFE for Raft: an entry whose Append returned can be lost on power
// loss (up to d of acknowledged entries), so a node may forget a vote-worthy
// log it told the leader it had. Use it only where losing acknowledged
// entries is acceptable, such as benchmarks or throwaway clusters. A process
// crash without power loss loses nothing: written bytes are in the OS.
func SyncEvery(d time.Duration) SyncPolicy {
	return SyncPolicy{every: true, interval: d}
}

func (p SyncPolicy) String() string {
	if p.every {
		return fmt.Sprintf("SyncEvery(%v)", p.interval)
	}
	return "SyncAlways"
}

// DefaultSegmentSize is the size at which a segment is sealed and the next
// one started.
const DefaultSegmentSize = 64 << 20

// DefaultCacheEntries is how many recently appended entries a FileWAL keeps
// in memory to serve Load without a read: followers being caught up and
// the leader's replication read the tail.
const DefaultCacheEntries = 1024

// WALOptions configure OpenFileWAL. The zero value is the safe default.
type WALOptions struct {
	FS           FS    // nil means OSFS
	SegmentSize  int64 // 0 means DefaultSegmentSize
	Sync         SyncPolicy
	CacheEntries int // 0 means DefaultCacheEntries, negative disables
}

// WALStats count what a FileWAL did since it was opened.
type WALStats struct {
	Appends uint64 // entries appended
	Syncs   uint64 // fsyncs of segment files
}

// Recovery describes the torn tail OpenFileWAL cut off the last segment.
type Recovery struct {
	Segment  string // path of the segment that was cut; "" if none
	Offset   int64  // where the cut was made
	TornSize int64  // bytes removed
	Reason   string
}

// metaFile holds the first index, written atomically; it is what lets a
// compacted or reset log remember where it starts when no segment says so.
const metaFile = "wal.meta"

var metaMagic = [8]byte{'R', 'P', 'W', 'A', 'L', 'M', '0', '1'}

// FileWAL is a WAL in segment files under a directory it owns (Delete
// removes it). Under SyncAlways an entry is durable once Append returns;
// recovery cuts only a torn final record and reports all other damage.
// The active segment runs ahead of its records with zeros while fsyncs
// are small (preallocate).
// Opening reads every segment once to check it and index the records.
type FileWAL struct {
	fs       FS
	dir      string
	segSize  int64
	policy   SyncPolicy
	cacheCap int
	recovery Recovery

	mu   sync.Mutex
	cond *sync.Cond // signalled when a sync round ends
	segs []*segment
	// first and last bound the log; last == first-1 when empty. Segments
	// may still hold records below first until a whole segment is below.
	first, last uint64
	bytes       uint64
	cache       map[uint64]memEntry

	// pend holds the records written to the active segment since the
	// last flush, which belong at pendOff: a sync round hands them to the
	// OS in one write before its fsync, instead of one write per append.
	pend    []byte
	pendOff int64

	writeSeq  uint64 // one per appended entry
	syncedSeq uint64 // every write up to here is durable
	syncing   bool   // a sync round runs without mu held
	dirDirty  bool   // a segment was created since the directory was synced
	failed    error  // a write or fsync failed: nothing can be promised any more
	closed    bool
	stats     WALStats
	room      roomPlan

	stop chan struct{}  // ends the SyncEvery loop
	done sync.WaitGroup // the SyncEvery loop
}

type segment struct {
	first uint64
	path  string
	f     File
	size  int64 // end of the last record
	// alloc is the file's length: size plus the zeros laid down ahead of
	// the records (see preallocate). Only the active segment has any.
	alloc int64
	recs  []recLoc // recs[i] holds index first+i
}

func (s *segment) lastIndex() uint64 { return s.first + uint64(len(s.recs)) - 1 }

var _ OwningDeferredWAL = (*FileWAL)(nil)

// OpenFileWAL opens the WAL in dir, creating it if needed, and recovers it:
// a torn final record is cut off (see Recovery), any other damage fails the
// open with an error wrapping ErrCorrupt that names the file and offset.
func OpenFileWAL(dir string, opts WALOptions) (*FileWAL, error) {
	if opts.FS == nil {
		opts.FS = OSFS{}
	}
	if opts.SegmentSize < 0 {
		return nil, fmt.Errorf("storage: WAL segment size %d is negative", opts.SegmentSize)
	}
	if opts.SegmentSize == 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Sync.every && opts.Sync.interval <= 0 {
		return nil, fmt.Errorf("storage: SyncEvery interval %v must be positive", opts.Sync.interval)
	}
	if opts.CacheEntries == 0 {
		opts.CacheEntries = DefaultCacheEntries
	}
	w := &FileWAL{
		fs:       opts.FS,
		dir:      filepath.Clean(dir),
		segSize:  opts.SegmentSize,
		policy:   opts.Sync,
		cacheCap: max(opts.CacheEntries, 0),
		cache:    map[uint64]memEntry{},
	}
	w.cond = sync.NewCond(&w.mu)
	if err := w.recover(); err != nil {
		w.closeFiles()
		return nil, err
	}
	if w.policy.every {
		w.stop = make(chan struct{})
		w.done.Add(1)
		go w.syncLoop()
	}
	return w, nil
}

func (w *FileWAL) recover() error {
	if err := mkdirDurable(w.fs, w.dir); err != nil {
		return fmt.Errorf("storage: creating WAL directory: %w", err)
	}
	if err := removeTempFiles(w.fs, w.dir); err != nil {
		return fmt.Errorf("storage: cleaning WAL directory: %w", err)
	}
	names, err := w.fs.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("storage: reading WAL directory: %w", err)
	}
	var firsts []uint64
	for _, name := range names {
		if first, ok := parseSegmentName(name); ok {
			firsts = append(firsts, first)
		}
	}
	slices.Sort(firsts)

	first, err := w.readMeta()
	switch {
	case errors.Is(err, os.ErrNotExist) && len(firsts) == 0:
		first = 1
		if err := w.writeMeta(first); err != nil {
			return err
		}
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("storage: WAL %s: %w: segments present but %s is missing", w.dir, ErrCorrupt, metaFile)
	case err != nil:
		return err
	}

	for i, segFirst := range firsts {
		seg, err := w.loadSegment(segFirst, i == len(firsts)-1)
		if err != nil {
			return err
		}
		if n := len(w.segs); n > 0 && w.segs[n-1].lastIndex()+1 != segFirst {
			return fmt.Errorf("storage: WAL segment %s: %w: starts at index %d, previous segment ends at %d",
				seg.path, ErrCorrupt, segFirst, w.segs[n-1].lastIndex())
		}
		w.segs = append(w.segs, seg)
	}
	if err := w.dropStaleSegments(first); err != nil {
		return err
	}
	if len(w.segs) > 0 && w.segs[0].first > first {
		return fmt.Errorf("storage: WAL %s: %w: %s says the log starts at index %d but the first segment starts at %d",
			w.dir, ErrCorrupt, metaFile, first, w.segs[0].first)
	}

	w.first, w.last = first, first-1
	if n := len(w.segs); n > 0 {
		w.last = w.segs[n-1].lastIndex()
	}
	w.bytes = w.payloadBytes(w.first, w.last)
	return nil
}

// loadSegment opens and checks one segment; in the last one a torn tail is
// cut off.
func (w *FileWAL) loadSegment(first uint64, isLast bool) (*segment, error) {
	path := filepath.Join(w.dir, segmentName(first))
	f, err := w.fs.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("storage: opening WAL segment: %w", err)
	}
	seg, err := w.checkSegment(f, path, first, isLast)
	if err != nil {
		return nil, errors.Join(err, f.Close())
	}
	return seg, nil
}

func (w *FileWAL) checkSegment(f File, path string, first uint64, isLast bool) (*segment, error) {
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("storage: WAL segment %s: %w", path, err)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("storage: reading WAL segment %s: %w", path, err)
	}
	scan, err := scanSegment(path, buf, first)
	if err != nil {
		return nil, err
	}
	alloc := scan.end
	switch {
	case scan.torn != "" && isLast && allZero(buf[scan.end:]):
		// Room the active segment was given ahead of its records (see
		// preallocate); appends go on writing over it. A crashed
		// append whose bytes never reached the disk leaves the same.
		alloc = size
	case scan.torn != "":
		if !isLast {
			// Segments are fsynced before the next one starts, so only
			// the last can hold a crashed append.
			return nil, corruptAt(path, scan.end, scan.torn)
		}
		if err := f.Truncate(scan.end); err != nil {
			return nil, fmt.Errorf("storage: cutting torn tail of %s: %w", path, err)
		}
		if err := w.syncFile(f); err != nil {
			return nil, fmt.Errorf("storage: cutting torn tail of %s: %w", path, err)
		}
		w.recovery = Recovery{Segment: path, Offset: scan.end, TornSize: size - scan.end, Reason: scan.torn}
	}
	if len(scan.recs) == 0 && !isLast {
		return nil, fmt.Errorf("storage: WAL segment %s: %w: sealed segment holds no records", path, ErrCorrupt)
	}
	return &segment{first: first, path: path, f: f, size: scan.end, alloc: alloc, recs: scan.recs}, nil
}

// dropStaleSegments removes segments that hold no entry at or above first:
// an empty last segment (created, then the crash came before its first
// record was durable) and segments a Compact had not finished deleting.
func (w *FileWAL) dropStaleSegments(first uint64) error {
	removed := false
	if n := len(w.segs); n > 0 && len(w.segs[n-1].recs) == 0 {
		if err := w.removeSegment(w.segs[n-1]); err != nil {
			return err
		}
		w.segs = w.segs[:n-1]
		removed = true
	}
	for len(w.segs) > 0 && w.segs[0].lastIndex() < first {
		if err := w.removeSegment(w.segs[0]); err != nil {
			return err
		}
		w.segs = w.segs[1:]
		removed = true
	}
	if removed {
		return w.syncDir()
	}
	return nil
}

func (w *FileWAL) readMeta() (uint64, error) {
	path := filepath.Join(w.dir, metaFile)
	data, err := ReadFileChecked(w.fs, path)
	if err != nil {
		return 0, err
	}
	if len(data) != 16 || [8]byte(data[:8]) != metaMagic {
		return 0, fmt.Errorf("storage: %s: %w: not a WAL meta file", path, ErrCorrupt)
	}
	first := binary.LittleEndian.Uint64(data[8:])
	if first == 0 {
		return 0, fmt.Errorf("storage: %s: %w: first index 0", path, ErrCorrupt)
	}
	return first, nil
}

func (w *FileWAL) writeMeta(first uint64) error {
	data := binary.LittleEndian.AppendUint64(metaMagic[:], first)
	return WriteFileAtomic(w.fs, filepath.Join(w.dir, metaFile), data)
}

// payloadBytes sums the payload sizes of entries from..to.
func (w *FileWAL) payloadBytes(from, to uint64) uint64 {
	var n uint64
	for _, seg := range w.segs {
		lo, hi := max(from, seg.first), min(to, seg.lastIndex())
		if lo > hi {
			continue
		}
		for i := lo; i <= hi; i++ {
			n += uint64(seg.recs[i-seg.first].size)
		}
	}
	return n
}

// Dir is the directory holding the segments.
func (w *FileWAL) Dir() string { return w.dir }

// Recovery reports what the open cut off; the zero value if nothing.
func (w *FileWAL) Recovery() Recovery { return w.recovery }

// Stats reports counts since open; Syncs below Appends shows group commit
// at work.
func (w *FileWAL) Stats() WALStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}
