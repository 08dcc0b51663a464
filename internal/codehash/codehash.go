// Package codehash fingerprints the Go source of a set of package
// directories, so gate evidence can say which code it was measured on and a
// later promotion can tell whether that code has changed since.
package codehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Prefix marks the hash algorithm so a future change of algorithm cannot be
// mistaken for a code change.
const Prefix = "sha256:"

// Dirs hashes every .go file (test files included) directly inside each of
// dirs, which are relative to root. Each file contributes its slash-separated
// path relative to root and its content, in sorted path order, so the hash is
// the same on every machine and changes when a file is added, removed,
// renamed or edited. Subdirectories are separate packages and are not
// included. An empty dirs list hashes to the hash of nothing.
func Dirs(root string, dirs []string) (string, error) {
	var files []string
	seen := map[string]bool{}
	for _, dir := range dirs {
		clean := filepath.Clean(dir)
		if seen[clean] {
			continue
		}
		seen[clean] = true
		entries, err := os.ReadDir(filepath.Join(root, clean))
		if err != nil {
			return "", fmt.Errorf("code hash: %w", err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".go") {
				files = append(files, filepath.ToSlash(filepath.Join(clean, e.Name())))
			}
		}
	}
	slices.Sort(files)
	h := sha256.New()
	for _, rel := range files {
		content, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return "", fmt.Errorf("code hash: %w", err)
		}
		// Length prefixes keep "a"+"bc" and "ab"+"c" apart.
		fmt.Fprintf(h, "%d:%s\x00%d:", len(rel), rel, len(content))
		h.Write(content)
	}
	return Prefix + hex.EncodeToString(h.Sum(nil)), nil
}
