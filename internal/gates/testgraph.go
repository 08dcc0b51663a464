package gates

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
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
//
// Each node records its sites: the failure and skip calls it makes itself
// and its calls into the package, each marked live or dead (after a return,
// a t.Fatal or a branch, or under a condition that is constant) and whether
// it depends on the function's own (non-testing) parameters.
type pkgGraph struct {
	funcs   map[string]*funcNode
	methods map[string][]string // method name -> keys
	consts  map[string]bool     // package-level boolean constants and their values
	memo    verdicts            // canFail's
	cmemo   verdicts            // counts'
}

type funcNode struct {
	key  string
	file *parsedFile
	decl *ast.FuncDecl // nil for a variable
	body ast.Node      // the function body or the variable's initializer
	// returnsNothing: a check procedure (or a sub-test body), whose failure
	// calls count for its caller. A helper that returns values is a setup
	// helper: its failures guard what it returns, not what the test checks,
	// unless they depend on its arguments.
	returnsNothing bool
	sites          []site
	selfCmps       []site // comparisons of an expression with itself
	selfArgs       []site // calls given the same expression twice: assertions only if the callee compares those two
	// compared are the pairs of parameter positions the body compares with
	// each other (a != b, bytes.Equal(a, b), require_Equal(t, a, b)).
	compared map[[2]int]bool
}

type siteKind int

const (
	siteFail siteKind = iota // a call that fails the test (t.Fatal, require.X)
	siteSkip                 // a call that skips the test
	siteCall                 // a call of, or a reference to, package functions
)

type site struct {
	args     [2]int // selfArgs: the positions of the two same arguments
	kind     siteKind
	pos      token.Pos
	callees  []string // siteCall
	dead     string   // why the site can never run; empty when live
	paramDep bool     // its condition or arguments name a parameter of the function
	text     string   // for findings
}

var (
	failMethods = map[string]bool{"Fatal": true, "Fatalf": true, "Error": true, "Errorf": true, "FailNow": true, "Fail": true}
	skipMethods = map[string]bool{"Skip": true, "Skipf": true, "SkipNow": true}
	// testingFields are struct fields that conventionally hold the test's T.
	testingFields = map[string]bool{"t": true, "tb": true, "T": true, "TB": true, "b": true}
	// stopMethods end the test's goroutine: nothing after them runs.
	stopMethods = map[string]bool{"Fatal": true, "Fatalf": true, "FailNow": true, "Skip": true, "Skipf": true, "SkipNow": true}
)

// loadPackageGraph parses the .go files of dir (absolute) that belong to
// package pkgName; reported paths are relative to repoDir.
func loadPackageGraph(repoDir, dir, pkgName string) (*pkgGraph, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*parsedFile
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		abs := filepath.Join(dir, e.Name())
		p, err := parseFile(abs, relPath(repoDir, abs))
		if err != nil {
			return nil, err
		}
		if p.file.Name.Name == pkgName {
			files = append(files, p)
		}
	}
	return buildGraph(files), nil
}

func buildGraph(files []*parsedFile) *pkgGraph {
	g := &pkgGraph{funcs: map[string]*funcNode{}, methods: map[string][]string{}, consts: map[string]bool{}, memo: verdicts{}, cmemo: verdicts{}}
	for _, p := range files {
		for _, d := range p.file.Decls {
			switch x := d.(type) {
			case *ast.FuncDecl:
				g.add(p, x)
			case *ast.GenDecl:
				g.addVars(p, x)
				g.addConsts(x)
			}
		}
	}
	for _, n := range g.funcs {
		g.link(n)
	}
	return g
}

func (g *pkgGraph) add(p *parsedFile, fd *ast.FuncDecl) {
	key := funcKey(fd)
	if fd.Recv == nil && fd.Name.Name == "init" {
		key = fmt.Sprintf("init@%s:%d", p.path, p.line(fd.Pos()))
	}
	n := &funcNode{key: key, file: p, decl: fd, returnsNothing: fd.Type.Results == nil || len(fd.Type.Results.List) == 0}
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
			g.funcs[varKey(id.Name)] = &funcNode{key: varKey(id.Name), file: p, body: init, returnsNothing: true}
		}
	}
}

// addConsts records `const debug = false` style constants, so that
// `if debug { ... }` is known to be dead.
func (g *pkgGraph) addConsts(gd *ast.GenDecl) {
	if gd.Tok != token.CONST {
		return
	}
	for _, spec := range gd.Specs {
		vs := spec.(*ast.ValueSpec)
		for i, id := range vs.Names {
			if i < len(vs.Values) {
				if v, ok := constBool(vs.Values[i], g.consts); ok {
					g.consts[id.Name] = v
				}
			}
		}
	}
}

// link walks the node's body and records its sites.
func (g *pkgGraph) link(n *funcNode) {
	if n.body == nil {
		return
	}
	w := &walker{g: g, n: n, tnames: testingParams(n), params: plainParams(n.decl)}
	n.compared = comparedParams(n.decl)
	if b, ok := n.body.(*ast.BlockStmt); ok {
		w.stmts(b.List, "", false)
	} else {
		w.expr(n.body, "", false)
	}
}

// walker visits a body statement by statement, knowing whether the current
// statement can run at all and whether it runs under a condition naming a
// parameter.
type walker struct {
	g      *pkgGraph
	n      *funcNode
	tnames map[string]bool
	params map[string]bool
}

func (w *walker) line(pos token.Pos) int { return w.n.file.line(pos) }

func (w *walker) stmts(list []ast.Stmt, dead string, condP bool) {
	for _, st := range list {
		w.stmt(st, dead, condP)
		if dead == "" {
			dead = w.terminates(st)
		}
	}
}

// terminates says why the statements after st never run, or "".
func (w *walker) terminates(st ast.Stmt) string {
	switch s := st.(type) {
	case *ast.ReturnStmt:
		return fmt.Sprintf("after the return at line %d", w.line(s.Pos()))
	case *ast.BranchStmt:
		if s.Tok != token.FALLTHROUGH {
			return fmt.Sprintf("after the %s at line %d", s.Tok, w.line(s.Pos()))
		}
	case *ast.ExprStmt:
		call, ok := s.X.(*ast.CallExpr)
		if !ok {
			return ""
		}
		if isCallTo(call, "panic") {
			return fmt.Sprintf("after the panic at line %d", w.line(s.Pos()))
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && stopMethods[sel.Sel.Name] && w.onTesting(sel.X) {
			return fmt.Sprintf("after the %s at line %d", sel.Sel.Name, w.line(s.Pos()))
		}
	}
	return ""
}

func (w *walker) stmt(st ast.Stmt, dead string, condP bool) {
	switch s := st.(type) {
	case *ast.BlockStmt:
		w.stmts(s.List, dead, condP)
	case *ast.LabeledStmt:
		w.stmt(s.Stmt, dead, condP)
	case *ast.IfStmt:
		if s.Init != nil {
			w.stmt(s.Init, dead, condP)
		}
		w.expr(s.Cond, dead, condP)
		inner := condP || mentions(s.Cond, w.params)
		c, isConst := constBool(s.Cond, w.g.consts)
		bodyDead, elseDead := dead, dead
		if dead == "" && isConst {
			why := fmt.Sprintf("under a condition that is always %v (line %d)", c, w.line(s.Cond.Pos()))
			if c {
				elseDead = why
			} else {
				bodyDead = why
			}
		}
		w.stmts(s.Body.List, bodyDead, inner)
		if s.Else != nil {
			w.stmt(s.Else, elseDead, inner)
		}
	case *ast.ForStmt:
		if s.Init != nil {
			w.stmt(s.Init, dead, condP)
		}
		inner := condP
		bodyDead := dead
		if s.Cond != nil {
			w.expr(s.Cond, dead, condP)
			inner = inner || mentions(s.Cond, w.params)
			if c, ok := constBool(s.Cond, w.g.consts); ok && !c && dead == "" {
				bodyDead = fmt.Sprintf("in a loop whose condition is always false (line %d)", w.line(s.Cond.Pos()))
			}
		}
		if s.Post != nil {
			w.stmt(s.Post, bodyDead, inner)
		}
		w.stmts(s.Body.List, bodyDead, inner)
	case *ast.RangeStmt:
		w.expr(s.X, dead, condP)
		w.stmts(s.Body.List, dead, condP || mentions(s.X, w.params))
	case *ast.SwitchStmt:
		if s.Init != nil {
			w.stmt(s.Init, dead, condP)
		}
		inner := condP
		if s.Tag != nil {
			w.expr(s.Tag, dead, condP)
			inner = inner || mentions(s.Tag, w.params)
		}
		w.clauses(s.Body, dead, inner)
	case *ast.TypeSwitchStmt:
		if s.Init != nil {
			w.stmt(s.Init, dead, condP)
		}
		w.stmt(s.Assign, dead, condP)
		w.clauses(s.Body, dead, condP || mentions(s.Assign, w.params))
	case *ast.SelectStmt:
		w.clauses(s.Body, dead, condP)
	case nil:
	default:
		w.expr(st, dead, condP)
	}
}

func (w *walker) clauses(body *ast.BlockStmt, dead string, condP bool) {
	for _, c := range body.List {
		switch cc := c.(type) {
		case *ast.CaseClause:
			inner := condP
			for _, e := range cc.List {
				w.expr(e, dead, condP)
				inner = inner || mentions(e, w.params)
			}
			w.stmts(cc.Body, dead, inner)
		case *ast.CommClause:
			if cc.Comm != nil {
				w.stmt(cc.Comm, dead, condP)
			}
			w.stmts(cc.Body, dead, condP)
		}
	}
}

// expr records the sites of an expression (or a simple statement); the
// bodies of function literals are walked as statements, inheriting dead.
func (w *walker) expr(node ast.Node, dead string, condP bool) {
	ast.Inspect(node, func(x ast.Node) bool {
		switch e := x.(type) {
		case *ast.FuncLit:
			w.stmts(e.Body.List, dead, condP)
			return false
		case *ast.BinaryExpr:
			if isComparison(e.Op) && sameExpr(e.X, e.Y) {
				w.n.selfCmps = append(w.n.selfCmps, site{pos: e.Pos(), dead: dead, text: oneLine(types.ExprString(e))})
			}
		case *ast.CallExpr:
			w.call(e, dead, condP)
		case *ast.Ident:
			if _, ok := w.g.funcs[varKey(e.Name)]; ok {
				w.n.sites = append(w.n.sites, site{kind: siteCall, pos: e.Pos(), callees: []string{varKey(e.Name)}, dead: dead, text: e.Name})
			} else if target, ok := w.g.funcs[e.Name]; ok && target.decl != nil && target.decl.Recv == nil && target != w.n {
				// A function used as a value (t.Run("x", check), a case
				// table entry); calls are recorded by w.call with their
				// arguments, and a call's Fun ident is recorded here too,
				// which only repeats the edge.
				w.n.sites = append(w.n.sites, site{kind: siteCall, pos: e.Pos(), callees: []string{e.Name}, dead: dead, text: e.Name})
			}
		case *ast.SelectorExpr:
			if keys := w.g.methods[e.Sel.Name]; len(keys) > 0 {
				w.n.sites = append(w.n.sites, site{kind: siteCall, pos: e.Sel.Pos(), callees: keys, dead: dead, text: e.Sel.Name})
			}
		}
		return true
	})
}

func (w *walker) call(call *ast.CallExpr, dead string, condP bool) {
	dep := condP
	for _, a := range call.Args {
		dep = dep || mentions(a, w.params)
	}
	switch w.classify(call) {
	case callFail:
		w.n.sites = append(w.n.sites, site{kind: siteFail, pos: call.Pos(), dead: dead, paramDep: dep, text: calleeText(call)})
		w.selfCompareArgs(call, dead, nil)
		return
	case callSkip:
		w.n.sites = append(w.n.sites, site{kind: siteSkip, pos: call.Pos(), dead: dead, text: calleeText(call)})
		return
	}
	var keys []string
	switch fun := unindex(call.Fun).(type) {
	case *ast.Ident:
		if n, ok := w.g.funcs[fun.Name]; ok && n.decl != nil && n.decl.Recv == nil {
			keys = []string{fun.Name}
		}
	case *ast.SelectorExpr:
		keys = w.g.methods[fun.Sel.Name]
	}
	if len(keys) > 0 {
		w.n.sites = append(w.n.sites, site{kind: siteCall, pos: call.Pos(), callees: keys, dead: dead, paramDep: dep, text: calleeText(call)})
		w.selfCompareArgs(call, dead, keys)
	}
}

// selfCompareArgs records an assertion-like call given the same expression
// twice, as in require_Equal(t, x, x); callees is nil for a primitive.
func (w *walker) selfCompareArgs(call *ast.CallExpr, dead string, callees []string) {
	args := call.Args
	for i := 0; i < len(args); i++ {
		for j := i + 1; j < len(args); j++ {
			if !w.onTesting(args[i]) && sameExpr(args[i], args[j]) {
				w.n.selfArgs = append(w.n.selfArgs, site{pos: call.Pos(), dead: dead, callees: callees, args: [2]int{i, j},
					text: oneLine(calleeText(call) + "(…, " + types.ExprString(args[i]) + ", " + types.ExprString(args[j]) + ")")})
			}
		}
	}
}

// onTesting reports whether e is a testing value: a *testing.T parameter
// or a conventional field holding one (s.t).
func (w *walker) onTesting(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return w.tnames[x.Name]
	case *ast.SelectorExpr:
		return testingFields[x.Sel.Name]
	}
	return false
}

type callKind int

const (
	callOther callKind = iota
	callFail
	callSkip
)

// classify recognises the primitives: t.Fatal-style and t.Skip-style calls
// on a testing value, and testify's require.X and assert.X. A helper of the
// package is never a primitive, whatever its name: it is judged by its body
// through the graph.
func (w *walker) classify(call *ast.CallExpr) callKind {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return callOther
	}
	if pkg, ok := sel.X.(*ast.Ident); ok && (pkg.Name == "require" || pkg.Name == "assert") && !w.tnames[pkg.Name] {
		if _, local := w.g.funcs[pkg.Name]; !local {
			return callFail
		}
	}
	if !w.onTesting(sel.X) {
		return callOther
	}
	switch {
	case failMethods[sel.Sel.Name]:
		return callFail
	case skipMethods[sel.Sel.Name]:
		return callSkip
	}
	return callOther
}

func unindex(e ast.Expr) ast.Expr {
	switch x := e.(type) {
	case *ast.IndexExpr:
		return x.X
	case *ast.IndexListExpr:
		return x.X
	case *ast.ParenExpr:
		return unindex(x.X)
	}
	return e
}

func calleeText(call *ast.CallExpr) string { return types.ExprString(unindex(call.Fun)) }

// canFail reports whether some live site of the node fails the test: a
// primitive, or a call to a helper that counts (see counts).
func (g *pkgGraph) canFail(key string) bool {
	return g.memo.of(key, func() bool {
		n := g.funcs[key]
		if n == nil {
			return false
		}
		for _, s := range n.sites {
			if s.dead == "" && (s.kind == siteFail || s.kind == siteCall && g.anyCounts(s.callees)) {
				return true
			}
		}
		return false
	})
}

// verdicts memoizes a yes-or-no question asked recursively over the call
// graph. A key asked again while its answer is being worked out (a
// recursive helper) gets no: a cycle alone cannot make a test fail.
type verdicts map[string]uint8

const (
	verdictWorking uint8 = iota + 1
	verdictNo
	verdictYes
)

func (v verdicts) of(key string, answer func() bool) bool {
	switch v[key] {
	case verdictWorking, verdictNo:
		return false
	case verdictYes:
		return true
	}
	v[key] = verdictWorking
	ok := answer()
	v[key] = verdictNo
	if ok {
		v[key] = verdictYes
	}
	return ok
}

func (g *pkgGraph) anyCounts(keys []string) bool {
	for _, k := range keys {
		if g.counts(k) {
			return true
		}
	}
	return false
}

// counts reports whether calling the helper is an assertion of its caller:
// it can fail, and it either returns nothing (a check, or a sub-test body)
// or fails on a condition naming its own arguments (require_Equal(t, a, b)).
// A setup helper that returns what it built and fails only when building
// fails does not count: the test must still check something itself.
func (g *pkgGraph) counts(key string) bool {
	return g.cmemo.of(key, func() bool { return g.countsNow(key) })
}

func (g *pkgGraph) countsNow(key string) bool {
	n := g.funcs[key]
	if n == nil || !g.canFail(key) {
		return false
	}
	if n.returnsNothing {
		return true
	}
	for _, s := range n.sites {
		if s.dead == "" && s.paramDep && (s.kind == siteFail || s.kind == siteCall && g.anyCounts(s.callees)) {
			return true
		}
	}
	return false
}

// comparesArgs reports whether some callee that counts compares its
// parameters at the two positions with each other.
func (g *pkgGraph) comparesArgs(keys []string, args [2]int) bool {
	for _, k := range keys {
		if n := g.funcs[k]; n != nil && n.compared[args] && g.counts(k) {
			return true
		}
	}
	return false
}

// comparedParams lists the pairs of parameter positions that the body
// compares: both sides of a comparison, or two arguments of one call of an
// equality function (reflect.DeepEqual, bytes.Equal, require_Equal, ...).
func comparedParams(fd *ast.FuncDecl) map[[2]int]bool {
	out := map[[2]int]bool{}
	if fd == nil || fd.Body == nil || fd.Type.Params == nil {
		return out
	}
	pos := map[string]int{}
	i := 0
	for _, f := range fd.Type.Params.List {
		if len(f.Names) == 0 {
			i++
		}
		for _, id := range f.Names {
			pos[id.Name] = i
			i++
		}
	}
	param := func(e ast.Expr) (int, bool) {
		id, ok := e.(*ast.Ident)
		if !ok {
			return 0, false
		}
		p, ok := pos[id.Name]
		return p, ok
	}
	pair := func(a, b int) {
		if a > b {
			a, b = b, a
		}
		if a != b {
			out[[2]int{a, b}] = true
		}
	}
	ast.Inspect(fd.Body, func(x ast.Node) bool {
		switch e := x.(type) {
		case *ast.BinaryExpr:
			a, aok := param(e.X)
			b, bok := param(e.Y)
			if aok && bok && isComparison(e.Op) {
				pair(a, b)
			}
		case *ast.CallExpr:
			if !strings.Contains(strings.ToLower(calleeText(e)), "equal") {
				return true
			}
			var ps []int
			for _, arg := range e.Args {
				if p, ok := param(arg); ok {
					ps = append(ps, p)
				}
			}
			for i := range ps {
				for j := i + 1; j < len(ps); j++ {
					pair(ps[i], ps[j])
				}
			}
		}
		return true
	})
	return out
}

// reachSkip finds a live skip call in key or a function it transitively
// reaches through live sites, with the chain of helpers leading to it.
func (g *pkgGraph) reachSkip(key string) (*funcNode, token.Pos, []string, bool) {
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
		sites := append([]site(nil), n.sites...)
		sort.SliceStable(sites, func(i, j int) bool { return sites[i].pos < sites[j].pos })
		for _, s := range sites {
			if s.dead == "" && s.kind == siteSkip {
				return n, s.pos, chain, true
			}
		}
		for _, s := range sites {
			if s.dead != "" || s.kind != siteCall {
				continue
			}
			for _, c := range s.callees {
				if hit, pos, via, ok := walk(c, append(chain, c)); ok {
					return hit, pos, via, true
				}
			}
		}
		return nil, token.NoPos, nil, false
	}
	return walk(key, nil)
}

// testFindings applies the test rules to one test function of the graph:
// its body is not empty and its comments (doc, inside, around) admit no
// shortcut; no skip call is reachable from it; it compares no expression
// with itself; no failure call or asserting helper call of its body sits in
// dead code; and some live site of its body fails the test, directly or
// through a helper that counts (judged by the helper's body, not its name).
func (g *pkgGraph) testFindings(n *funcNode) []Finding {
	var out []Finding
	if n.decl.Body == nil || len(n.decl.Body.List) == 0 {
		out = append(out, n.file.finding(n.decl.Pos(), "%s has an empty body", n.key))
	}
	out = append(out, commentFindings(n.file, n.decl)...)
	if hit, pos, via, ok := g.reachSkip(n.key); ok {
		f := hit.file.finding(pos, "%s is skipped", n.key)
		if len(via) > 0 {
			f.Message += " (through " + strings.Join(via, " -> ") + ")"
		}
		out = append(out, f)
	}
	for _, s := range n.selfCmps {
		out = append(out, n.file.finding(s.pos, "%s compares an expression with itself: %s", n.key, s.text))
	}
	for _, s := range n.selfArgs {
		if s.callees == nil || g.comparesArgs(s.callees, s.args) {
			out = append(out, n.file.finding(s.pos, "%s compares an expression with itself: %s", n.key, s.text))
		}
	}
	seen := map[token.Pos]bool{}
	for _, s := range n.sites {
		if s.dead == "" || seen[s.pos] {
			continue
		}
		if s.kind == siteFail || s.kind == siteCall && g.anyCounts(s.callees) {
			seen[s.pos] = true
			out = append(out, n.file.finding(s.pos, "%s: the assertion %s is dead code (%s)", n.key, s.text, s.dead))
		}
	}
	if !g.canFail(n.key) {
		out = append(out, n.file.finding(n.decl.Pos(),
			"%s cannot fail: no live t.Fatal/t.Error/FailNow or require/assert call, and no helper that asserts (one that makes such a call and returns nothing or checks its arguments)", n.key))
	}
	return out
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

// plainParams are the declaration's named parameters that are not testing
// values.
func plainParams(fd *ast.FuncDecl) map[string]bool {
	out := map[string]bool{}
	if fd == nil || fd.Type.Params == nil {
		return out
	}
	for _, f := range fd.Type.Params.List {
		if isTestingType(f.Type) {
			continue
		}
		for _, id := range f.Names {
			if id.Name != "_" {
				out[id.Name] = true
			}
		}
	}
	return out
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

// mentions reports whether node names one of names.
func mentions(node ast.Node, names map[string]bool) bool {
	if node == nil || len(names) == 0 {
		return false
	}
	found := false
	ast.Inspect(node, func(x ast.Node) bool {
		if id, ok := x.(*ast.Ident); ok && names[id.Name] {
			found = true
		}
		return !found
	})
	return found
}

func isComparison(op token.Token) bool {
	switch op {
	case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
		return true
	}
	return false
}

// sameExpr reports whether two expressions are the same text and free of
// calls and receives (which may give different values each time).
func sameExpr(a, b ast.Expr) bool {
	return types.ExprString(a) == types.ExprString(b) && pureExpr(a)
}

// constBool evaluates a boolean expression made of true, false, known
// constants, !, &&, || and comparisons of literals.
func constBool(e ast.Expr, consts map[string]bool) (bool, bool) {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return constBool(x.X, consts)
	case *ast.Ident:
		switch x.Name {
		case "true":
			return true, true
		case "false":
			return false, true
		}
		v, ok := consts[x.Name]
		return v, ok
	case *ast.UnaryExpr:
		if x.Op == token.NOT {
			v, ok := constBool(x.X, consts)
			return !v, ok
		}
	case *ast.BinaryExpr:
		switch x.Op {
		case token.LAND, token.LOR:
			l, lok := constBool(x.X, consts)
			r, rok := constBool(x.Y, consts)
			and := x.Op == token.LAND
			switch {
			case lok && rok:
				if and {
					return l && r, true
				}
				return l || r, true
			case lok && l != and:
				return l, true // false && _, true || _
			case rok && r != and:
				return r, true
			}
		case token.EQL, token.NEQ:
			l, lok := x.X.(*ast.BasicLit)
			r, rok := x.Y.(*ast.BasicLit)
			if lok && rok && l.Kind == r.Kind {
				return (l.Value == r.Value) == (x.Op == token.EQL), true
			}
		}
	}
	return false, false
}

func relPath(base, abs string) string {
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}
