package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/porttrack-dev/porttrack/internal/goimport"
)

// symbolDef is a function or method definition found in Go source.
type symbolDef struct {
	// File is relative to the repository root, slash-separated.
	File string
	// Notation follows the catalog: "(*raft).vote", "(RaftState).String",
	// "decodePeerState".
	Notation string
}

// symbolKey reduces a catalog notation to what identifies a definition: the
// receiver's type name and the function name. Pointer and value receivers
// share a key because a port may choose either.
func symbolKey(notation string) (string, error) {
	if !strings.HasPrefix(notation, "(") {
		if notation == "" || strings.ContainsAny(notation, "(). *") {
			return "", usagef("malformed symbol %q: want Name, (Type).Name or (*Type).Name", notation)
		}
		return notation, nil
	}
	recv, name, ok := strings.Cut(notation[1:], ").")
	recv = strings.TrimPrefix(recv, "*")
	if !ok || recv == "" || name == "" || strings.ContainsAny(recv+name, "(). *") {
		return "", usagef("malformed symbol %q: want Name, (Type).Name or (*Type).Name", notation)
	}
	return recv + "." + name, nil
}

// scanSymbols indexes by symbolKey every function and method declared in the
// .go files under dir. With tests it reads only _test.go files, otherwise
// only the others. Directories Go ignores (testdata, vendor, names starting
// with "." or "_") are skipped.
func scanSymbols(root, dir string, tests bool) (map[string][]symbolDef, error) {
	index := map[string][]symbolDef{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := entry.Name()
		if entry.IsDir() {
			if path != dir && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") != tests {
			return nil
		}
		rel, err := repoRelative(root, path)
		if err != nil {
			return err
		}
		defs, err := fileSymbols(fset, path)
		if err != nil {
			return err
		}
		for _, def := range defs {
			key, err := symbolKey(def)
			if err != nil {
				return err
			}
			index[key] = append(index[key], symbolDef{File: rel, Notation: def})
		}
		return nil
	})
	if err != nil {
		return nil, usagef("scan %s: %v", dir, err)
	}
	return index, nil
}

// fileSymbols lists the notations of the functions and methods in one file.
func fileSymbols(fset *token.FileSet, path string) ([]string, error) {
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var defs []string
	for _, decl := range f.Decls {
		if fn, ok := decl.(*ast.FuncDecl); ok {
			if _, symbol := goimport.FuncSymbol(fn); symbol != "" {
				defs = append(defs, symbol)
			}
		}
	}
	return defs, nil
}

// repoRelative turns path (absolute, or relative to the working directory)
// into a slash-separated path relative to root, refusing paths outside it.
func repoRelative(root, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", usagef("%s is outside the repository %s", path, root)
	}
	return filepath.ToSlash(rel), nil
}
