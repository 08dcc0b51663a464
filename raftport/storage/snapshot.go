package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrNoSnapshot is returned by SnapshotStore.Latest when there is none.
var ErrNoSnapshot = errors.New("storage: no snapshot")

// snapFilePrefix names snapshot files snap.<term>.<index>, as the reference
// server does.
const snapFilePrefix = "snap."

// SnapshotFileName is the base name of the snapshot taken at term and index.
func SnapshotFileName(term, index uint64) string {
	return snapFilePrefix + strconv.FormatUint(term, 10) + "." + strconv.FormatUint(index, 10)
}

// TermAndIndexFromSnapFile parses a snapshot file name (a path is fine).
// Only the exact form snap.<term>.<index> is accepted, so temporary files
// and leftovers never pass for a snapshot.
func TermAndIndexFromSnapFile(name string) (term, index uint64, err error) {
	base := filepath.Base(name)
	rest, ok := strings.CutPrefix(base, snapFilePrefix)
	termStr, indexStr, ok2 := strings.Cut(rest, ".")
	if ok && ok2 {
		term, err = strconv.ParseUint(termStr, 10, 64)
		if err == nil {
			index, err = strconv.ParseUint(indexStr, 10, 64)
		}
		// The round trip rejects signs, leading zeros and other spellings
		// ParseUint tolerates.
		if err == nil && SnapshotFileName(term, index) == base {
			return term, index, nil
		}
	}
	return 0, 0, fmt.Errorf("storage: %q is not a snapshot file name (want snap.<term>.<index>)", base)
}

// A snapshot file's payload, inside WriteFileAtomic's checksummed
// container: magic, term, index (uint64 LE), then the node's data. Carrying
// term and index inside lets Load refuse a file that was renamed or copied
// over another.
var snapMagic = [8]byte{'R', 'P', 'S', 'N', 'A', 'P', '0', '1'}

const snapHeaderLen = 24

// SnapshotStore keeps a node's snapshots in one directory, conventionally
// <node dir>/snapshots (SnapshotsDir). It is safe for concurrent use.
type SnapshotStore struct {
	fs  FS
	dir string
	mu  sync.Mutex // orders Save against itself and the removals
}

// NewSnapshotStore uses dir, creating it on the first Save; fsys nil means
// OSFS.
func NewSnapshotStore(fsys FS, dir string) *SnapshotStore {
	if fsys == nil {
		fsys = OSFS{}
	}
	return &SnapshotStore{fs: fsys, dir: filepath.Clean(dir)}
}

// Dir is the directory holding the snapshots.
func (s *SnapshotStore) Dir() string { return s.dir }

// Save writes data as the snapshot at term and index and returns its path.
// It is durable when Save returns (temporary file, fsync, rename, directory
// fsync); only then are older snapshots and leftover temporary files
// removed, so a crash always leaves at least one good snapshot.
func (s *SnapshotStore) Save(term, index uint64, data []byte) (string, error) {
	if index == 0 {
		return "", errors.New("storage: a snapshot at index 0 is invalid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := mkdirDurable(s.fs, s.dir); err != nil {
		return "", fmt.Errorf("storage: creating snapshot directory: %w", err)
	}
	buf := make([]byte, snapHeaderLen, snapHeaderLen+len(data))
	copy(buf, snapMagic[:])
	binary.LittleEndian.PutUint64(buf[8:], term)
	binary.LittleEndian.PutUint64(buf[16:], index)
	buf = append(buf, data...)
	path := filepath.Join(s.dir, SnapshotFileName(term, index))
	if err := WriteFileAtomic(s.fs, path, buf); err != nil {
		return "", err
	}
	if err := s.removeOlder(term, index); err != nil {
		return path, fmt.Errorf("storage: snapshot %s saved, removing older ones: %w", path, err)
	}
	return path, nil
}

// removeOlder deletes snapshots ordered before (term, index) and temporary
// files; Save holds mu, so no temporary file of this store is in use.
func (s *SnapshotStore) removeOlder(term, index uint64) error {
	names, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return err
	}
	var errs []error
	removed := false
	for _, name := range names {
		t, i, perr := TermAndIndexFromSnapFile(name)
		if IsTempFile(name) || (perr == nil && snapBefore(t, i, term, index)) {
			errs = append(errs, removeIfExists(s.fs, filepath.Join(s.dir, name)))
			removed = true
		}
	}
	if removed {
		errs = append(errs, s.fs.SyncDir(s.dir))
	}
	return errors.Join(errs...)
}

// snapBefore orders snapshots by term, then index, as the reference does.
func snapBefore(t1, i1, t2, i2 uint64) bool {
	return t1 < t2 || (t1 == t2 && i1 < i2)
}

// Latest names the newest snapshot by file name. It does not read the file:
// Load does that and reports damage. Temporary and unparsable names are
// ignored; ErrNoSnapshot when there is none.
func (s *SnapshotStore) Latest() (term, index uint64, path string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.fs.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, "", ErrNoSnapshot
	}
	if err != nil {
		return 0, 0, "", fmt.Errorf("storage: reading snapshot directory: %w", err)
	}
	for _, name := range names {
		t, i, perr := TermAndIndexFromSnapFile(name)
		if perr != nil {
			continue
		}
		if path == "" || snapBefore(term, index, t, i) {
			term, index, path = t, i, filepath.Join(s.dir, name)
		}
	}
	if path == "" {
		return 0, 0, "", ErrNoSnapshot
	}
	return term, index, path, nil
}

// Load returns the data saved in the snapshot at path. A damaged, partial or
// misnamed file gives an error wrapping ErrCorrupt.
func (s *SnapshotStore) Load(path string) ([]byte, error) {
	buf, err := ReadFileChecked(s.fs, path)
	if err != nil {
		return nil, err
	}
	if len(buf) < snapHeaderLen || [8]byte(buf[:8]) != snapMagic {
		return nil, fmt.Errorf("storage: %s: %w: not a snapshot file", path, ErrCorrupt)
	}
	term := binary.LittleEndian.Uint64(buf[8:])
	index := binary.LittleEndian.Uint64(buf[16:])
	nt, ni, err := TermAndIndexFromSnapFile(path)
	if err != nil {
		return nil, err
	}
	if nt != term || ni != index {
		return nil, fmt.Errorf("storage: %s: %w: file holds the snapshot at term %d index %d", path, ErrCorrupt, term, index)
	}
	return buf[snapHeaderLen:], nil
}

// Remove deletes one snapshot durably, as after finding it corrupt.
func (s *SnapshotStore) Remove(path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fs.Remove(path); err != nil {
		return fmt.Errorf("storage: removing snapshot: %w", err)
	}
	return s.fs.SyncDir(filepath.Dir(path))
}

// RemoveAll deletes every file in the snapshot directory and the directory.
func (s *SnapshotStore) RemoveAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	names, err := s.fs.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: reading snapshot directory: %w", err)
	}
	var errs []error
	for _, name := range names {
		errs = append(errs, removeIfExists(s.fs, filepath.Join(s.dir, name)))
	}
	errs = append(errs, s.fs.Remove(s.dir), s.fs.SyncDir(filepath.Dir(s.dir)))
	return errors.Join(errs...)
}
