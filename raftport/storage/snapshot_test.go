package storage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSnapshotFileNames(t *testing.T) {
	if got := SnapshotFileName(3, 1200); got != "snap.3.1200" {
		t.Fatalf("SnapshotFileName = %q", got)
	}
	term, index, err := TermAndIndexFromSnapFile("/a/b/snap.7.99")
	if err != nil || term != 7 || index != 99 {
		t.Fatalf("parse = %d, %d, %v", term, index, err)
	}
	for _, bad := range []string{"", "snap.1", "snap.1.2.tmp-abc", "snap.01.2", "snap.+1.2", "snap.a.2", "snip.1.2", "snap.1.2" + tempMarker + "Q"} {
		if _, _, err := TermAndIndexFromSnapFile(bad); err == nil {
			t.Errorf("%q parsed as a snapshot name", bad)
		}
	}
}

func TestSnapshotSaveLatestLoad(t *testing.T) {
	s := NewSnapshotStore(nil, filepath.Join(t.TempDir(), SnapshotsDir))
	if _, _, _, err := s.Latest(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("latest of empty store: %v, want ErrNoSnapshot", err)
	}
	if _, err := s.Save(1, 0, []byte("x")); err == nil {
		t.Fatal("saved a snapshot at index 0")
	}
	for _, sn := range []struct{ term, index uint64 }{{1, 10}, {2, 5}, {2, 30}} {
		if _, err := s.Save(sn.term, sn.index, payload(sn.index, 300)); err != nil {
			t.Fatalf("save %v: %v", sn, err)
		}
	}
	term, index, path, err := s.Latest()
	if err != nil || term != 2 || index != 30 || path != filepath.Join(s.Dir(), "snap.2.30") {
		t.Fatalf("latest = %d %d %q %v", term, index, path, err)
	}
	data, err := s.Load(path)
	if err != nil || !bytes.Equal(data, payload(30, 300)) {
		t.Fatalf("load = %q, %v", data, err)
	}
	names, err := os.ReadDir(s.Dir())
	if err != nil || len(names) != 1 {
		t.Fatalf("older snapshots not removed: %v %v", names, err)
	}
}

func TestSnapshotSaveKeepsNewerOnes(t *testing.T) {
	s := NewSnapshotStore(nil, filepath.Join(t.TempDir(), SnapshotsDir))
	if _, err := s.Save(5, 100, []byte("newer")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(4, 200, []byte("older term")); err != nil {
		t.Fatal(err)
	}
	_, _, path, err := s.Latest()
	if err != nil || filepath.Base(path) != "snap.5.100" {
		t.Fatalf("latest = %q %v; the higher term wins", path, err)
	}
}

func TestSnapshotLatestIgnoresTempAndStrayFiles(t *testing.T) {
	s := NewSnapshotStore(nil, filepath.Join(t.TempDir(), SnapshotsDir))
	if _, err := s.Save(1, 10, []byte("good")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"snap.9.900" + tempMarker + "abc", "notes.txt", "snap.9"} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, index, _, err := s.Latest()
	if err != nil || index != 10 {
		t.Fatalf("latest index %d, %v; want 10", index, err)
	}
	// The next save clears the leftover temporary file.
	if _, err := s.Save(1, 20, []byte("next")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "snap.9.900"+tempMarker+"abc")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file survived a save: %v", err)
	}
}

func TestSnapshotLoadRejectsDamage(t *testing.T) {
	cases := map[string]func(b []byte) []byte{
		"flipped byte":    func(b []byte) []byte { b[len(b)/2] ^= 0x04; return b },
		"truncated":       func(b []byte) []byte { return b[:len(b)-100] },
		"cut to a header": func(b []byte) []byte { return b[:snapHeaderLen] },
		"zeroed":          func(b []byte) []byte { return make([]byte, len(b)) },
	}
	for name, hurt := range cases {
		t.Run(name, func(t *testing.T) {
			s := NewSnapshotStore(nil, filepath.Join(t.TempDir(), SnapshotsDir))
			path, err := s.Save(3, 77, payload(77, 1000))
			if err != nil {
				t.Fatal(err)
			}
			damage(t, path, hurt)
			data, err := s.Load(path)
			if !errors.Is(err, ErrCorrupt) || data != nil {
				t.Fatalf("load damaged snapshot: %d bytes, %v; want ErrCorrupt", len(data), err)
			}
		})
	}
}

func TestSnapshotLoadRejectsRenamedFile(t *testing.T) {
	s := NewSnapshotStore(nil, filepath.Join(t.TempDir(), SnapshotsDir))
	path, err := s.Save(3, 77, []byte("state at 77"))
	if err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(s.Dir(), SnapshotFileName(3, 500))
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(moved); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("load of a misnamed snapshot: %v, want ErrCorrupt", err)
	}
}

func TestSnapshotRemove(t *testing.T) {
	s := NewSnapshotStore(nil, filepath.Join(t.TempDir(), SnapshotsDir))
	path, err := s.Save(1, 1, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Latest(); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("latest after remove: %v", err)
	}
	if _, err := s.Save(2, 2, []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("snapshot directory survived RemoveAll: %v", err)
	}
	if err := s.RemoveAll(); err != nil {
		t.Fatalf("RemoveAll of nothing: %v", err)
	}
}

func TestSnapshotSurvivesCrash(t *testing.T) {
	cfs := NewCrashFS(t.TempDir())
	s := NewSnapshotStore(cfs, filepath.Join("node", SnapshotsDir))
	if _, err := s.Save(2, 40, []byte("forty")); err != nil {
		t.Fatal(err)
	}
	if err := cfs.Crash(); err != nil {
		t.Fatal(err)
	}
	cfs.Restart()
	_, index, path, err := s.Latest()
	if err != nil || index != 40 {
		t.Fatalf("latest after crash: %d %v", index, err)
	}
	data, err := s.Load(path)
	if err != nil || string(data) != "forty" {
		t.Fatalf("load after crash: %q %v", data, err)
	}
	names, err := cfs.ReadDir(s.Dir())
	if err != nil || !slices.Equal(names, []string{"snap.2.40"}) {
		t.Fatalf("snapshot dir after crash: %v %v", names, err)
	}
}
