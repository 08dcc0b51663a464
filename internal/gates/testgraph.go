package gates

import (
	"fmt"
	"go/ast"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// pkgGraph is the call graph of one package's functions, built from syntax
// alone: a call or reference to a package-level function is an edge to it,
// and a selector x.M is an edge to every method named M in the package (an
// over-approximation that type information would narrow). Package-level
// variables are nodes too, so that a table of test cases (var cases =
// []struct{...}{{"x", testX}}) leads from the test that ranges over it to
// the case functions.
type pkgGraph struct {
	funcs   map[string]*funcNode
	methods map[string][]string // method name -> keys
}

type funcNode struct {
	key   string
	file  *parsedFile
	decl  *ast.FuncDecl // nil for a variable
	body  ast.Node      // the function body or the variable's initializer
	fails []token.Pos   // direct calls that can fail the test
	skips []token.Pos   // direct calls that skip the test
	calls []edge
}

type edge struct {
	to  string
	pos token.Pos
}

var (
	failMethods = map[string]bool{"Fatal": true, "Fatalf": true, "Error": true, "Errorf": true, "FailNow": true, "Fail": true}
	skipMethods = map[string]bool{"Skip": true, "Skipf": true, "SkipNow": true}
	// testingFields are struct fields that conventionally hold the test's T.
	testingFields = map[string]bool{"t": true, "tb": true, "T": true, "TB": true, "b": true}
)

// loadPackageGraph parses the .go files of dir (absolute) that belong to
// package pkgName; reported paths are relative to repoDir.
func loadPackageGraph(repoDir, dir, pkgName string) (*pkgGraph, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	g := &pkgGraph{funcs: map[string]*funcNode{}, methods: map[string][]string{}}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		abs := filepath.Join(dir, e.Name())
		p, err := parseFile(abs, relPath(repoDir, abs))
		if err != nil {
			return nil, err
		}
		if p.file.Name.Name != pkgName {
			continue
		}
		for _, d := range p.file.Decls {
			switch x := d.(type) {
			case *ast.FuncDecl:
				g.add(p, x)
			case *ast.GenDecl:
				g.addVars(p, x)
			}
		}
	}
	for _, n := range g.funcs {
		g.link(n)
	}
	return g, nil
}

func (g *pkgGraph) add(p *parsedFile, fd *ast.FuncDecl) {
	key := funcKey(fd)
	if fd.Recv == nil && fd.Name.Name == "init" {
		key = fmt.Sprintf("init@%s:%d", p.path, p.line(fd.Pos()))
	}
	n := &funcNode{key: key, file: p, decl: fd}
	if fd.Body != nil {
		n.body = fd.Body
	}
	g.funcs[key] = n
	if fd.Recv != nil {
		g.methods[fd.Name.Name] = append(g.methods[fd.Name.Name], key)
	}
}

// varKey names a package-level variable's node; no function key has a colon.
func varKey(name string) string { return "var:" + name }

func (g *pkgGraph) addVars(p *parsedFile, gd *ast.GenDecl) {
	if gd.Tok != token.VAR {
		return
	}
	for _, spec := range gd.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, id := range vs.Names {
			if id.Name == "_" || len(vs.Values) == 0 {
				continue
			}
			var init ast.Node = vs.Values[0]
			if len(vs.Values) == len(vs.Names) {
				init = vs.Values[i]
			}
			g.funcs[varKey(id.Name)] = &funcNode{key: varKey(id.Name), file: p, body: init}
		}
	}
}

// link records the node's direct fail and skip calls and its edges.
func (g *pkgGraph) link(n *funcNode) {
	if n.body == nil {
		return
	}
	tnames := testingParams(n)
	ast.Inspect(n.body, func(node ast.Node) bool {
		switch x := node.(type) {
		case *ast.CallExpr:
			switch classifyCall(x, tnames) {
			case callFail:
				n.fails = append(n.fails, x.Pos())
			case callSkip:
				n.skips = append(n.skips, x.Pos())
			}
		case *ast.Ident:
			if target, ok := g.funcs[x.Name]; ok && target.decl.Recv == nil {
				n.calls = append(n.calls, edge{x.Name, x.Pos()})
			}
			if _, ok := g.funcs[varKey(x.Name)]; ok {
				n.calls = append(n.calls, edge{varKey(x.Name), x.Pos()})
			}
		case *ast.SelectorExpr:
			for _, key := range g.methods[x.Sel.Name] {
				n.calls = append(n.calls, edge{key, x.Sel.Pos()})
			}
		}
		return true
	})
}

// testingParams collects the names of parameters, in the declaration and
// in every function literal inside it, typed *testing.T, *testing.B,
// *testing.F or testing.TB.
func testingParams(n *funcNode) map[string]bool {
	names := map[string]bool{}
	collect := func(ft *ast.FuncType) {
		if ft.Params == nil {
			return
		}
		for _, f := range ft.Params.List {
			if isTestingType(f.Type) {
				for _, id := range f.Names {
					names[id.Name] = true
				}
			}
		}
	}
	if n.decl != nil {
		collect(n.decl.Type)
	}
	if n.body != nil {
		ast.Inspect(n.body, func(node ast.Node) bool {
			if lit, ok := node.(*ast.FuncLit); ok {
				collect(lit.Type)
			}
			return true
		})
	}
	return names
}

func isTestingType(e ast.Expr) bool {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "testing" && (sel.Sel.Name == "T" || sel.Sel.Name == "B" || sel.Sel.Name == "F" || sel.Sel.Name == "TB")
}

type callKind int

const (
	callOther callKind = iota
	callFail
	callSkip
)

// classifyCall recognises t.Fatal-style and t.Skip-style calls on a testing
// value, testify's require.X and assert.X, and helpers named require_X or
// assert_X (the NATS test suite's convention) whose bodies live elsewhere.
func classifyCall(call *ast.CallExpr, tnames map[string]bool) callKind {
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		if strings.HasPrefix(fun.Name, "require_") || strings.HasPrefix(fun.Name, "assert_") {
			return callFail
		}
	case *ast.SelectorExpr:
		method := fun.Sel.Name
		switch x := fun.X.(type) {
		case *ast.Ident:
			if x.Name == "require" || x.Name == "assert" {
				return callFail
			}
			if !tnames[x.Name] {
				return callOther
			}
		case *ast.SelectorExpr:
			if !testingFields[x.Sel.Name] {
				return callOther
			}
		default:
			return callOther
		}
		switch {
		case failMethods[method]:
			return callFail
		case skipMethods[method]:
			return callSkip
		}
	}
	return callOther
}

// reach finds the first site, in key or a function it transitively calls,
// that sites selects. It returns the site's finding position and the chain
// of helpers leading to it.
func (g *pkgGraph) reach(key string, sites func(*funcNode) []token.Pos) (*funcNode, token.Pos, []string, bool) {
	seen := map[string]bool{}
	var walk func(k string, chain []string) (*funcNode, token.Pos, []string, bool)
	walk = func(k string, chain []string) (*funcNode, token.Pos, []string, bool) {
		if seen[k] {
			return nil, token.NoPos, nil, false
		}
		seen[k] = true
		n := g.funcs[k]
		if n == nil {
			return nil, token.NoPos, nil, false
		}
		if s := sites(n); len(s) > 0 {
			return n, s[0], chain, true
		}
		callees := append([]edge(nil), n.calls...)
		sort.SliceStable(callees, func(i, j int) bool { return callees[i].pos < callees[j].pos })
		for _, e := range callees {
			if hit, pos, via, ok := walk(e.to, append(chain, e.to)); ok {
				return hit, pos, via, true
			}
		}
		return nil, token.NoPos, nil, false
	}
	return walk(key, nil)
}

// testFindings applies the test rules to one test function of the graph:
// its body is not empty and its comments carry no marker or shortcut; no
// skip call (Skip, Skipf, SkipNow on a testing value) is reachable from it;
// and some failure call (classifyCall) is reachable from it, in its own
// body, a function literal inside it, or a same-package function or case
// table it reaches. Reachable means present on some path: the rule proves a
// test can fail, not that every path checks something.
func (g *pkgGraph) testFindings(n *funcNode) []Finding {
	var out []Finding
	if n.decl.Body == nil || len(n.decl.Body.List) == 0 {
		out = append(out, n.file.finding(n.decl.Pos(), "%s has an empty body", n.key))
	}
	out = append(out, commentFindings(n.file, n.decl)...)
	if hit, pos, via, ok := g.reach(n.key, func(m *funcNode) []token.Pos { return m.skips }); ok {
		f := hit.file.finding(pos, "%s is skipped", n.key)
		if len(via) > 0 {
			f.Message += " (through " + strings.Join(via, " -> ") + ")"
		}
		out = append(out, f)
	}
	if _, _, _, ok := g.reach(n.key, func(m *funcNode) []token.Pos { return m.fails }); !ok {
		out = append(out, n.file.finding(n.decl.Pos(),
			"%s cannot fail: it reaches no t.Fatal/t.Error/FailNow, require/assert call or helper that makes one", n.key))
	}
	return out
}

func relPath(base, abs string) string {
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}
