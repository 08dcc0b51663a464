package goimport

import (
	"go/ast"
	"go/token"
	"go/types"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The call graph links a feature to the features it calls. A call is
// resolved by the type checker when it can tell what the callee is: then
// the edge exists exactly when the callee is a feature of the tree (a call
// through an interface, a function value or a closure, or into a package
// outside the tree, adds none). When the checker cannot tell, because the
// callee's receiver or package comes from outside the tree, the catalog's
// syntactic rules apply:
//
//   - f(...) calls every function f of the caller's package;
//   - r.m(...), with r the caller's receiver, calls the method m of the
//     receiver's type;
//   - p.f(...), with p an import of a package inside the tree, calls f of
//     that package;
//   - x.m(...) otherwise calls the method m when exactly one method of the
//     caller's file has that name.
//
// Calls inside closures count for the enclosing function; go and defer
// statements are calls.
type resolver struct {
	t    *Tree
	pkgs []*pkgFiles
	// byDir finds a package by its directory, for imports inside the tree.
	byDir map[string]*pkgFiles
	// importRoot is the import path of the tree's directory; empty when
	// the tree is not inside a module.
	importRoot string
	// byPos maps a declaration's name position to its feature.
	byPos map[token.Pos]int
	info  *types.Info
}

func newResolver(t *Tree, pkgs map[string]*pkgFiles, importRoot string) *resolver {
	r := &resolver{t: t, byDir: map[string]*pkgFiles{}, importRoot: importRoot, byPos: map[token.Pos]int{}}
	for _, p := range pkgs {
		r.pkgs = append(r.pkgs, p)
	}
	// The package holding most files wins a directory (a stray
	// "//go:build ignore" file of package main must not shadow it).
	slices.SortFunc(r.pkgs, func(a, b *pkgFiles) int {
		if a.dir != b.dir {
			return strings.Compare(a.dir, b.dir)
		}
		if len(a.files) != len(b.files) {
			return len(b.files) - len(a.files)
		}
		return strings.Compare(a.name, b.name)
	})
	for _, p := range r.pkgs {
		if _, ok := r.byDir[p.dir]; !ok {
			r.byDir[p.dir] = p
		}
	}
	for i, f := range t.Funcs {
		if !f.Test {
			r.byPos[f.decl.Name.Pos()] = i
		}
	}
	return r
}

// calls walks every feature's body.
func (r *resolver) calls() []Call {
	var out []Call
	for i := range r.t.Funcs {
		f := &r.t.Funcs[i]
		if f.Test || f.decl.Body == nil {
			continue
		}
		recvName := ""
		if f.decl.Recv != nil && len(f.decl.Recv.List[0].Names) > 0 {
			recvName = f.decl.Recv.List[0].Names[0].Name
		}
		found := map[int]*Call{}
		note := func(callee int, byRules bool) {
			if callee == i {
				return
			}
			c := found[callee]
			if c == nil {
				c = &Call{Caller: i, Callee: callee}
				found[callee] = c
			}
			if byRules {
				c.ByRules = true
			} else {
				c.ByTypes = true
			}
		}
		ast.Inspect(f.decl.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fun := unwrap(call.Fun)
			for _, callee := range r.syntacticCallees(f, recvName, fun) {
				note(callee, true)
			}
			if callee := r.typedCallee(fun); callee >= 0 {
				note(callee, false)
			}
			return true
		})
		for _, c := range found {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b Call) int {
		if a.Caller != b.Caller {
			return a.Caller - b.Caller
		}
		return a.Callee - b.Callee
	})
	return out
}

// syntacticCallees applies the catalog's rules.
func (r *resolver) syntacticCallees(f *Func, recvName string, fun ast.Expr) []int {
	p := f.file.src.pkg
	switch fn := fun.(type) {
	case *ast.Ident:
		return p.funcs[fn.Name]
	case *ast.SelectorExpr:
		x, ok := fn.X.(*ast.Ident)
		if ok && recvName != "" && x.Name == recvName {
			return p.methods[f.recv+"."+fn.Sel.Name]
		}
		if ok {
			if importPath, isImport := f.file.imports()[x.Name]; isImport {
				if target := r.treePackage(importPath); target != nil {
					return target.funcs[fn.Sel.Name]
				}
				return nil
			}
		}
		if ms := f.file.methods[fn.Sel.Name]; len(ms) == 1 {
			return ms
		}
	}
	return nil
}

// typedCallee is the feature the type checker resolves fun to, or -1.
func (r *resolver) typedCallee(fun ast.Expr) int {
	if r.info == nil {
		return -1
	}
	var id *ast.Ident
	switch fn := fun.(type) {
	case *ast.Ident:
		id = fn
	case *ast.SelectorExpr:
		id = fn.Sel
	default:
		return -1
	}
	if fn, ok := r.info.Uses[id].(*types.Func); ok {
		if idx, ok := r.byPos[fn.Origin().Pos()]; ok {
			return idx
		}
	}
	return -1
}

// unwrap strips parentheses and type arguments: (f), f[int], T[K, V].
func unwrap(e ast.Expr) ast.Expr {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		default:
			return e
		}
	}
}

// importNames maps each import's local name in f to its path.
func importNames(f *ast.File) map[string]string {
	names := map[string]string{}
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		name := guessPackageName(p)
		if spec.Name != nil {
			name = spec.Name.Name
		}
		names[name] = p
	}
	return names
}

// guessPackageName is the usual name of the package at an import path:
// its last element without a major version ("/v2") or ".vN" suffix and
// without a "go-" prefix.
func guessPackageName(importPath string) string {
	elems := strings.Split(importPath, "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && isMajorVersion(name) {
		name = elems[len(elems)-2]
	}
	if i := strings.Index(name, ".v"); i > 0 && isMajorVersion(name[i+1:]) {
		name = name[:i]
	}
	name = strings.TrimPrefix(name, "go-")
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' {
			return '_'
		}
		return r
	}, name)
}

func isMajorVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	_, err := strconv.Atoi(s[1:])
	return err == nil
}

// treePackage finds the package an import path names inside the tree.
func (r *resolver) treePackage(importPath string) *pkgFiles {
	if r.importRoot == "" {
		return nil
	}
	if importPath == r.importRoot {
		return r.byDir["."]
	}
	if rest, ok := strings.CutPrefix(importPath, r.importRoot+"/"); ok {
		return r.byDir[rest]
	}
	return nil
}

// importPathOf is the import path of a package of the tree; outside a
// module it is only the directory.
func (r *resolver) importPathOf(p *pkgFiles) string {
	switch {
	case r.importRoot == "":
		return path.Join("tree", p.dir)
	case p.dir == ".":
		return r.importRoot
	}
	return r.importRoot + "/" + p.dir
}

// modulePath returns the import path of dir and its path inside its
// module ("server/"), from the go.mod at or above it; both are empty when
// there is none.
func modulePath(dir string) (importPath, prefix string) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			mod := moduleLine(data)
			rel, err := filepath.Rel(d, abs)
			if mod == "" || err != nil {
				return "", ""
			}
			if rel == "." {
				return mod, ""
			}
			rel = filepath.ToSlash(rel)
			return mod + "/" + rel, rel + "/"
		}
		if filepath.Dir(d) == d {
			return "", ""
		}
	}
}

// moduleLine reads the module path from go.mod's content.
func moduleLine(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			rest, _, _ = strings.Cut(rest, "//")
			rest = strings.TrimSpace(rest)
			if unquoted, err := strconv.Unquote(rest); err == nil {
				return unquoted
			}
			return rest
		}
	}
	return ""
}

// imports maps the file's import names to their paths, computed once.
func (fi *fileInfo) imports() map[string]string {
	if fi.importNames == nil {
		fi.importNames = importNames(fi.src.ast)
	}
	return fi.importNames
}
