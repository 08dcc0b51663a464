package storage

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Names the node keeps in its store directory, as in the reference server.
const (
	TermVoteFile  = "tav.idx"   // term (8 bytes LE) and vote (8 bytes)
	PeerStateFile = "peers.idx" // the reference's encodePeerState layout
	SnapshotsDir  = "snapshots"
)

// castagnoli is CRC32C, the checksum of every record and file here: it is
// hardware-accelerated on amd64 and arm64 and catches burst errors better
// than IEEE CRC32.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkedTrailerLen is the trailer of a checked file: payload length
// (uint64 LE) and CRC32C over payload and length (uint32 LE). Carrying the
// length makes a truncated file fail even when its last bytes happen to
// look like a checksum.
const checkedTrailerLen = 12

// tempMarker is in the name of every temporary file WriteFileAtomic makes,
// so directory scans can tell them from finished files.
const tempMarker = ".tmp-"

// IsTempFile reports whether name (a base name) is a temporary file left by
// an interrupted WriteFileAtomic.
func IsTempFile(name string) bool { return strings.Contains(name, tempMarker) }

// WriteFileAtomic replaces path with data so that after a crash path holds
// either the old content or the new, never a mix: data plus a checksum
// trailer goes to a temporary file in the same directory, which is synced,
// renamed over path, and then the directory is synced. The directory must
// exist.
func WriteFileAtomic(fsys FS, path string, data []byte) error {
	dir, base := filepath.Split(path)
	tmp := filepath.Join(dir, base+tempMarker+rand.Text())
	f, err := fsys.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("storage: writing %s: %w", path, err)
	}
	buf := make([]byte, len(data)+checkedTrailerLen)
	copy(buf, data)
	binary.LittleEndian.PutUint64(buf[len(data):], uint64(len(data)))
	crc := crc32.Checksum(buf[:len(data)+8], castagnoli)
	binary.LittleEndian.PutUint32(buf[len(data)+8:], crc)

	_, werr := f.WriteAt(buf, 0)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = fsys.Rename(tmp, path)
	}
	if werr != nil {
		return fmt.Errorf("storage: writing %s: %w", path, errors.Join(werr, removeIfExists(fsys, tmp)))
	}
	if err := fsys.SyncDir(filepath.Clean(dir)); err != nil {
		return fmt.Errorf("storage: writing %s: syncing directory: %w", path, err)
	}
	return nil
}

// ReadFileChecked returns the payload WriteFileAtomic stored at path. A
// damaged or short file gives an error wrapping ErrCorrupt; a missing one
// an error wrapping fs.ErrNotExist.
func ReadFileChecked(fsys FS, path string) ([]byte, error) {
	buf, err := readAll(fsys, path)
	if err != nil {
		return nil, fmt.Errorf("storage: reading %s: %w", path, err)
	}
	return verifyChecked(path, buf)
}

func verifyChecked(path string, buf []byte) ([]byte, error) {
	if len(buf) < checkedTrailerLen {
		return nil, fmt.Errorf("storage: %s: %w: %d bytes is shorter than its trailer", path, ErrCorrupt, len(buf))
	}
	n := len(buf) - checkedTrailerLen
	if got := binary.LittleEndian.Uint64(buf[n:]); got != uint64(n) {
		return nil, fmt.Errorf("storage: %s: %w: trailer says %d payload bytes, file holds %d", path, ErrCorrupt, got, n)
	}
	want := binary.LittleEndian.Uint32(buf[n+8:])
	if got := crc32.Checksum(buf[:n+8], castagnoli); got != want {
		return nil, fmt.Errorf("storage: %s: %w: checksum %08x, want %08x", path, ErrCorrupt, got, want)
	}
	return buf[:n:n], nil
}

func readAll(fsys FS, path string) ([]byte, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return buf, nil
}

func removeIfExists(fsys FS, path string) error {
	if err := fsys.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// removeTempFiles deletes what interrupted WriteFileAtomic calls left in dir.
func removeTempFiles(fsys FS, dir string) error {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if IsTempFile(name) {
			errs = append(errs, removeIfExists(fsys, filepath.Join(dir, name)))
		}
	}
	return errors.Join(errs...)
}
