package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// ErrCrashed is returned by every call on a file handle that was open when
// CrashFS.Crash ran, and by every call on the CrashFS between Crash and
// Restart: the process it belonged to is considered dead.
var ErrCrashed = errors.New("storage: file handle lost in simulated crash")

// CrashFS is a real directory tree under root plus a record of what a power
// loss would leave of it. Files live on disk, so reads and writes behave like
// OSFS, but File.Sync and SyncDir only update the record instead of calling
// fsync: the real machine is not crashing, the simulated one is.
//
// Crash applies the model of an ordered-journal file system (ext4 with
// data=ordered behaves like this):
//   - a file's content reverts to what it held at its last Sync; bytes
//     written or truncated since are undone, a never-synced file is empty;
//   - a directory entry (a created, renamed or removed file, a made or
//     removed directory) survives only if its parent directory was synced
//     after the change: an unsynced new file disappears, an unsynced rename
//     reverts to the old name, an unsynced removal brings the file back with
//     its synced content;
//   - anything below a directory that does not survive is gone with it.
//
// Paths may be absolute (inside root) or relative to root. Renaming a
// directory is not supported. Files and directories CrashFS has not seen
// (there before NewCrashFS, or put there by other means) count as durable
// with the content they have when CrashFS first meets them; a change made by
// other means to a file CrashFS already tracks is not recorded, so a later
// Crash reverts it.
//
// Crash models power loss between calls. A call racing Crash is decided by
// its file handles, which die with the crash; a SyncDir that starts after
// the crash applies to the restored tree, so code should end a durable step
// with a handle's Sync (FileWAL does) if a racing crash must fail it.
type CrashFS struct {
	root string

	mu       sync.Mutex
	files    map[string]*crashNode // current namespace
	dirs     map[string]bool
	durFiles map[string]*crashNode // namespace as of the last SyncDir of each parent
	durDirs  map[string]bool
	open     map[*crashFile]struct{}
	syncs    uint64
	dirSyncs uint64
	// down is set by Crash and cleared by Restart: a machine without power
	// runs nothing, so a WAL that outlived the crash in the test cannot go
	// on creating files as if it had not.
	down bool
}

// crashNode is one file's identity (an inode): handles and names point at it.
type crashNode struct {
	durable []byte // content as of the last Sync
	// [dirtyFrom, dirtyTo) covers every offset changed since the last
	// Sync; content outside it still equals durable. A Sync reads back only
	// that range, which keeps it cheap on a file written in place, such as
	// a WAL segment zero-filled ahead of its records.
	dirtyFrom, dirtyTo int64
}

func newCrashNode(durable []byte) *crashNode {
	return &crashNode{durable: durable, dirtyFrom: math.MaxInt64}
}

// touch notes that [from, to) changed.
func (n *crashNode) touch(from, to int64) {
	n.dirtyFrom = min(n.dirtyFrom, from)
	n.dirtyTo = max(n.dirtyTo, to)
}

var _ FS = (*CrashFS)(nil)

// NewCrashFS starts recording under root, which must exist (t.TempDir()).
// Whatever root already holds counts as durable.
func NewCrashFS(root string) *CrashFS {
	abs, err := filepath.Abs(root)
	if err != nil {
		// Abs fails only without a working directory; the cleaned path
		// still names root for every later call.
		abs = filepath.Clean(root)
	}
	return &CrashFS{
		root:     abs,
		files:    map[string]*crashNode{},
		dirs:     map[string]bool{},
		durFiles: map[string]*crashNode{},
		durDirs:  map[string]bool{},
		open:     map[*crashFile]struct{}{},
	}
}

// adoptLocked records a file or directory at p that CrashFS has not seen
// (it was there before, or put there by other means) as durable, with the
// directories above it. A path with nothing behind it is left alone: the
// caller's own operation on it reports that.
func (c *CrashFS) adoptLocked(p string) {
	if p == c.root || c.dirs[p] {
		return
	}
	if _, known := c.files[p]; known {
		return
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return
	}
	c.adoptLocked(filepath.Dir(p))
	if fi.IsDir() {
		c.dirs[p], c.durDirs[p] = true, true
		return
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return
	}
	n := newCrashNode(data)
	c.files[p], c.durFiles[p] = n, n
}

// Root is the directory CrashFS records.
func (c *CrashFS) Root() string { return c.root }

// Syncs counts File.Sync calls, SyncDir calls not included.
func (c *CrashFS) Syncs() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.syncs
}

// DirSyncs counts SyncDir calls.
func (c *CrashFS) DirSyncs() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dirSyncs
}

func (c *CrashFS) resolve(name string) (string, error) {
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.root, p)
	}
	p = filepath.Clean(p)
	rel, err := filepath.Rel(c.root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("storage: CrashFS path %s is outside root %s", name, c.root)
	}
	return p, nil
}

func (c *CrashFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	p, err := c.resolve(name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, ErrCrashed
	}
	c.adoptLocked(p)
	// The real file is always opened read-write: Sync reads it back to
	// record the durable content.
	realFlag := flag&^(os.O_RDONLY|os.O_WRONLY|os.O_RDWR) | os.O_RDWR
	f, err := os.OpenFile(p, realFlag, perm)
	if err != nil {
		return nil, err
	}
	n, known := c.files[p]
	if !known {
		n = newCrashNode(nil)
		n.touch(0, math.MaxInt64)
		c.files[p] = n
	}
	if flag&os.O_TRUNC != 0 {
		n.touch(0, math.MaxInt64)
	}
	cf := &crashFile{fs: c, node: n, f: f}
	c.open[cf] = struct{}{}
	return cf, nil
}

func (c *CrashFS) Rename(oldpath, newpath string) error {
	op, err := c.resolve(oldpath)
	if err != nil {
		return err
	}
	np, err := c.resolve(newpath)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrCrashed
	}
	c.adoptLocked(op)
	c.adoptLocked(np)
	if c.dirs[op] {
		return fmt.Errorf("storage: CrashFS cannot rename directory %s", oldpath)
	}
	if err := os.Rename(op, np); err != nil {
		return err
	}
	c.files[np] = c.files[op]
	delete(c.files, op)
	return nil
}

func (c *CrashFS) Remove(name string) error {
	p, err := c.resolve(name)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrCrashed
	}
	c.adoptLocked(p)
	if err := os.Remove(p); err != nil {
		return err
	}
	delete(c.files, p)
	delete(c.dirs, p)
	return nil
}

func (c *CrashFS) MkdirAll(path string, perm os.FileMode) error {
	p, err := c.resolve(path)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrCrashed
	}
	for d := p; d != c.root; d = filepath.Dir(d) {
		c.adoptLocked(d)
	}
	if err := os.MkdirAll(p, perm); err != nil {
		return err
	}
	for d := p; d != c.root; d = filepath.Dir(d) {
		c.dirs[d] = true
	}
	return nil
}

func (c *CrashFS) ReadDir(dir string) ([]string, error) {
	p, err := c.resolve(dir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return nil, ErrCrashed
	}
	return OSFS{}.ReadDir(p)
}

// SyncDir makes the current set of entries directly in dir the durable one.
func (c *CrashFS) SyncDir(dir string) error {
	p, err := c.resolve(dir)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return ErrCrashed
	}
	c.adoptLocked(p)
	if p != c.root && !c.dirs[p] {
		return &os.PathError{Op: "syncdir", Path: dir, Err: os.ErrNotExist}
	}
	c.dirSyncs++
	for f := range c.durFiles {
		if filepath.Dir(f) == p {
			delete(c.durFiles, f)
		}
	}
	for f, n := range c.files {
		if filepath.Dir(f) == p {
			c.durFiles[f] = n
		}
	}
	for d := range c.durDirs {
		if filepath.Dir(d) == p {
			delete(c.durDirs, d)
		}
	}
	for d := range c.dirs {
		if filepath.Dir(d) == p {
			c.durDirs[d] = true
		}
	}
	return nil
}

// Crash simulates power loss: every open handle dies (its calls return
// ErrCrashed), the tree under root is rewritten to what the model above
// says survives, and every call on the CrashFS fails with ErrCrashed until
// Restart. The caller then restarts it and reopens its WAL or files on the
// same CrashFS, which keeps recording.
func (c *CrashFS) Crash() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crashLocked()
}

// crashLocked is Crash with c.mu held.
func (c *CrashFS) crashLocked() error {
	c.down = true
	var errs []error
	for cf := range c.open {
		cf.dead = true
		errs = append(errs, cf.f.Close())
	}
	clear(c.open)
	errs = append(errs, filepath.WalkDir(c.root, func(p string, _ os.DirEntry, err error) error {
		c.adoptLocked(p)
		return err
	}))

	survives := func(p string) bool {
		for d := filepath.Dir(p); d != c.root; d = filepath.Dir(d) {
			if !c.durDirs[d] {
				return false
			}
		}
		return true
	}
	entries, err := os.ReadDir(c.root)
	if err != nil {
		return err
	}
	for _, e := range entries {
		errs = append(errs, os.RemoveAll(filepath.Join(c.root, e.Name())))
	}
	dirs, files := map[string]bool{}, map[string]*crashNode{}
	for d := range c.durDirs {
		if survives(d) {
			dirs[d] = true
			errs = append(errs, os.MkdirAll(d, 0o755))
		}
	}
	for p, n := range c.durFiles {
		if survives(p) {
			// Each survivor gets its own copy: Sync updates durable in
			// place, and an unsynced cross-directory rename can leave
			// two names of one node.
			files[p] = newCrashNode(slices.Clone(n.durable))
			errs = append(errs, os.WriteFile(p, n.durable, 0o644))
		}
	}
	c.files, c.dirs = files, dirs
	c.durFiles, c.durDirs = map[string]*crashNode{}, map[string]bool{}
	for p, n := range files {
		c.durFiles[p] = n
	}
	for d := range dirs {
		c.durDirs[d] = true
	}
	return errors.Join(errs...)
}

// crashFile is a handle on a CrashFS file.
type crashFile struct {
	fs   *CrashFS
	node *crashNode
	f    *os.File
	dead bool
}

// lock takes the CrashFS lock and fails if the handle died in a crash.
func (cf *crashFile) lock() error {
	cf.fs.mu.Lock()
	if cf.dead {
		cf.fs.mu.Unlock()
		return ErrCrashed
	}
	return nil
}

func (cf *crashFile) ReadAt(p []byte, off int64) (int, error) {
	if err := cf.lock(); err != nil {
		return 0, err
	}
	defer cf.fs.mu.Unlock()
	return cf.f.ReadAt(p, off)
}

func (cf *crashFile) WriteAt(p []byte, off int64) (int, error) {
	if err := cf.lock(); err != nil {
		return 0, err
	}
	defer cf.fs.mu.Unlock()
	cf.node.touch(off, off+int64(len(p)))
	return cf.f.WriteAt(p, off)
}

func (cf *crashFile) Truncate(size int64) error {
	if err := cf.lock(); err != nil {
		return err
	}
	defer cf.fs.mu.Unlock()
	// Growing a file changes the bytes past the old end, shrinking it
	// those past the new one: everything from size on counts as changed.
	cf.node.touch(size, math.MaxInt64)
	return cf.f.Truncate(size)
}

func (cf *crashFile) Size() (int64, error) {
	if err := cf.lock(); err != nil {
		return 0, err
	}
	defer cf.fs.mu.Unlock()
	fi, err := cf.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Sync records the file's current content as durable. Only the part
// changed since the previous Sync is read back.
func (cf *crashFile) Sync() error {
	if err := cf.lock(); err != nil {
		return err
	}
	defer cf.fs.mu.Unlock()
	cf.fs.syncs++
	n := cf.node
	fi, err := cf.f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	from, to := min(n.dirtyFrom, size), min(n.dirtyTo, size)
	// Bytes past the old durable end that no write touched are a hole,
	// which reads as zeros: growing the slice with zeros matches them.
	if old := int64(len(n.durable)); size > old {
		n.durable = append(n.durable, make([]byte, size-old)...)
	}
	n.durable = n.durable[:size]
	if from < to {
		if _, err := cf.f.ReadAt(n.durable[from:to], from); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	n.dirtyFrom, n.dirtyTo = math.MaxInt64, 0
	return nil
}

func (cf *crashFile) Close() error {
	cf.fs.mu.Lock()
	defer cf.fs.mu.Unlock()
	if cf.dead {
		// Crash already released the descriptor.
		return nil
	}
	cf.dead = true
	delete(cf.fs.open, cf)
	return cf.f.Close()
}

// Restart powers the simulated machine back on after a Crash: calls work
// again, on what survived.
func (c *CrashFS) Restart() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = false
}
