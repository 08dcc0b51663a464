package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// termVote is the reference's tav.idx payload: term then vote, 8 bytes LE
// each.
func termVote(term, vote uint64) []byte {
	b := binary.LittleEndian.AppendUint64(nil, term)
	return binary.LittleEndian.AppendUint64(b, vote)
}

func TestCheckedFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), TermVoteFile)
	for _, data := range [][]byte{termVote(3, 0xabcdef), termVote(4, 7), {}} {
		if err := WriteFileAtomic(OSFS{}, path, data); err != nil {
			t.Fatalf("write: %v", err)
		}
		got, err := ReadFileChecked(OSFS{}, path)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("read %x, want %x", got, data)
		}
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %d entries (%v), want only %s", len(entries), err, TermVoteFile)
	}
}

func TestCheckedFileMissing(t *testing.T) {
	_, err := ReadFileChecked(OSFS{}, filepath.Join(t.TempDir(), PeerStateFile))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	if errors.Is(err, ErrCorrupt) {
		t.Fatal("a missing file must not look corrupt")
	}
}

func TestCheckedFileRejectsDamage(t *testing.T) {
	data := termVote(9, 42)
	full := len(data) + checkedTrailerLen
	cases := map[string]func([]byte) []byte{
		"flipped payload byte": func(b []byte) []byte { b[3] ^= 0x80; return b },
		"flipped length byte":  func(b []byte) []byte { b[len(data)] ^= 0x01; return b },
		"flipped crc byte":     func(b []byte) []byte { b[full-1] ^= 0x01; return b },
		"truncated by one":     func(b []byte) []byte { return b[:full-1] },
		"truncated to half":    func(b []byte) []byte { return b[:full/2] },
		"empty":                func(b []byte) []byte { return b[:0] },
		"extra byte appended":  func(b []byte) []byte { return append(b, 0) },
	}
	for name, hurt := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), TermVoteFile)
			if err := WriteFileAtomic(OSFS{}, path, data); err != nil {
				t.Fatal(err)
			}
			damage(t, path, hurt)
			got, err := ReadFileChecked(OSFS{}, path)
			if !errors.Is(err, ErrCorrupt) || got != nil {
				t.Fatalf("read damaged file: %x, %v; want ErrCorrupt", got, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestCheckedFileSurvivesCrashAtomically(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	if err := WriteFileAtomic(cfs, TermVoteFile, termVote(1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(cfs, TermVoteFile, termVote(2, 5)); err != nil {
		t.Fatal(err)
	}
	// A temporary file written but never renamed, as a crash mid-write
	// leaves it.
	f, err := cfs.OpenFile(TermVoteFile+tempMarker+"x", os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("half"), 0); err != nil {
		t.Fatal(err)
	}
	if err := cfs.Crash(); err != nil {
		t.Fatal(err)
	}
	cfs.Restart()
	got, err := ReadFileChecked(cfs, TermVoteFile)
	if err != nil || !bytes.Equal(got, termVote(2, 5)) {
		t.Fatalf("after crash: %x, %v; want the second write", got, err)
	}
	names, err := cfs.ReadDir(".")
	if err != nil || len(names) != 1 {
		t.Fatalf("after crash the directory holds %v (%v); the unsynced temporary file must be gone", names, err)
	}
}
