package gates

import (
	"fmt"
	"go/ast"
	"go/token"
	"sort"
	"strings"
)

// mutant is one small change of a function body. start..end is the node it
// changes (the whole comparison, condition or statement); for a comparison
// opStart..opEnd is its operator, replaced by to.
type mutant struct {
	kind           string // compare, negate, drop
	start, end     int    // byte offsets of the changed node
	opStart, opEnd int
	to             string
	line           int
	desc           string
}

// Mutant kinds, in the order the round-robin selection visits them.
var mutantKinds = []string{"compare", "negate", "drop", "arith"}

// arith swaps + and -, on operands free of calls (the schema evaluates
// both the original and the changed expression).
var arith = map[token.Token]token.Token{token.ADD: token.SUB, token.SUB: token.ADD}

// boundary moves a comparison across its boundary; negate covers the
// logical opposite, so together they catch off-by-one and inverted tests.
var boundary = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
}

// mutantsOf lists every mutation site of fd's body, grouped by kind in
// source order.
func mutantsOf(p *parsedFile, fd *ast.FuncDecl) map[string][]mutant {
	sites := map[string][]mutant{}
	if fd.Body == nil || len(fd.Body.List) == 0 {
		return sites
	}
	off := func(pos token.Pos) int { return p.fset.Position(pos).Offset }
	text := func(n ast.Node) string { return string(p.src[off(n.Pos()):off(n.End())]) }
	add := func(m mutant, n ast.Node) {
		m.start, m.end, m.line = off(n.Pos()), off(n.End()), p.line(n.Pos())
		sites[m.kind] = append(sites[m.kind], m)
	}
	// A body's final statement stays: without it a function with results
	// no longer compiles ("missing return"), in a closure as in fd itself.
	final := map[ast.Stmt]bool{fd.Body.List[len(fd.Body.List)-1]: true}
	dropList := func(list []ast.Stmt) {
		for _, st := range list {
			if droppable(st) && !final[st] {
				add(mutant{kind: "drop", desc: fmt.Sprintf("dropped `%s`", oneLine(text(st)))}, st)
			}
		}
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncLit:
			if l := len(x.Body.List); l > 0 {
				final[x.Body.List[l-1]] = true
			}
		case *ast.BinaryExpr:
			if to, ok := arith[x.Op]; ok && pureExpr(x.X) && pureExpr(x.Y) && !isStringLit(x.X) && !isStringLit(x.Y) {
				start := off(x.OpPos)
				add(mutant{kind: "arith", opStart: start, opEnd: start + 1, to: to.String(),
					desc: fmt.Sprintf("`%s` -> `%s`", oneLine(text(x)), oneLine(text(x.X)+" "+to.String()+" "+text(x.Y)))}, x)
			}
			if to, ok := boundary[x.Op]; ok {
				start := off(x.OpPos)
				add(mutant{kind: "compare", opStart: start, opEnd: start + len(x.Op.String()), to: to.String(),
					desc: fmt.Sprintf("`%s` -> `%s`", oneLine(text(x)), oneLine(text(x.X)+" "+to.String()+" "+text(x.Y)))}, x)
			}
		case *ast.IfStmt:
			cond := text(x.Cond)
			add(mutant{kind: "negate", desc: fmt.Sprintf("`if %s` -> `if !(%s)`", oneLine(cond), oneLine(cond))}, x.Cond)
		case *ast.ForStmt:
			if x.Cond != nil {
				cond := text(x.Cond)
				add(mutant{kind: "negate", desc: fmt.Sprintf("`for %s` -> `for !(%s)`", oneLine(cond), oneLine(cond))}, x.Cond)
			}
		case *ast.BlockStmt:
			dropList(x.List)
		case *ast.CaseClause:
			dropList(x.Body)
		case *ast.CommClause:
			dropList(x.Body)
		}
		return true
	})
	return sites
}

// droppable statements leave a body that may still compile: declarations
// (:=, var) would only yield "declared and not used" errors, the function's
// final return would yield "missing return", and fallthrough cannot move
// into a block. A logging call is not dropped: no test can tell, so the
// mutant would be equivalent by construction.
func droppable(st ast.Stmt) bool {
	switch x := st.(type) {
	case *ast.ExprStmt:
		return !isLogCall(x.X)
	case *ast.IncDecStmt, *ast.SendStmt, *ast.GoStmt, *ast.DeferStmt, *ast.ReturnStmt:
		return true
	case *ast.BranchStmt:
		return x.Tok != token.FALLTHROUGH
	case *ast.AssignStmt:
		return x.Tok != token.DEFINE
	}
	return false
}

// pickMutants takes up to n sites, visiting the kinds in turn so that a
// small n still tries different kinds of change.
func pickMutants(sites map[string][]mutant, n int) []mutant {
	var out []mutant
	next := map[string]int{}
	for len(out) < n {
		progressed := false
		for _, k := range mutantKinds {
			if len(out) == n {
				break
			}
			if i := next[k]; i < len(sites[k]) {
				out = append(out, sites[k][i])
				next[k] = i + 1
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	return out
}

// apply returns the source with the mutant's change alone.
func (m mutant) apply(src []byte) []byte {
	return []byte(schemaText(src, []schemaMutant{{m, -1}}, 0, len(src)))
}

// schemaMutant is a mutant placed in a schema: id >= 0 switches it on when
// porttrackMutantOn(id) holds; id -1 applies it unconditionally.
type schemaMutant struct {
	mutant
	id int
}

// schemaText renders src[lo:hi] with every mutant inside it: nested mutants
// (a comparison inside a condition inside a dropped statement) are rendered
// inside both the original and the changed text of the one around them, so
// one build carries them all and each is switched on alone.
func schemaText(src []byte, ms []schemaMutant, lo, hi int) string {
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].start != ms[j].start {
			return ms[i].start < ms[j].start
		}
		return ms[i].end > ms[j].end
	})
	var b strings.Builder
	cursor := lo
	for i := 0; i < len(ms); i++ {
		m := ms[i]
		if m.start < cursor || m.end > hi {
			continue
		}
		var inner []schemaMutant
		for _, o := range ms[i+1:] {
			if o.start >= m.start && o.end <= m.end {
				inner = append(inner, o)
			}
		}
		b.Write(src[cursor:m.start])
		orig := schemaText(src, inner, m.start, m.end)
		switch m.kind {
		case "compare", "arith":
			// A comparison's value is a bool, whatever its operands; an
			// arithmetic result takes its type from them, so a generic pick.
			format := "func() bool { if porttrackMutantOn(%d) { return %s }; return %s }()"
			if m.kind == "arith" {
				format = "porttrackPick(porttrackMutantOn(%d), %s, %s)"
			}
			changed := schemaText(src, inner, m.start, m.opStart) + m.to + schemaText(src, inner, m.opEnd, m.end)
			if m.id < 0 {
				b.WriteString(changed)
			} else {
				fmt.Fprintf(&b, format, m.id, changed, orig)
			}
		case "negate":
			if m.id < 0 {
				fmt.Fprintf(&b, "!(%s)", orig)
			} else {
				fmt.Fprintf(&b, "(porttrackMutantOn(%d) != (%s))", m.id, orig)
			}
		case "drop":
			if m.id >= 0 {
				fmt.Fprintf(&b, "if !porttrackMutantOn(%d) { %s }", m.id, orig)
			}
		}
		cursor = m.end
	}
	b.Write(src[cursor:hi])
	return b.String()
}

// schemaSwitch is the file added to a mutated package: the mutant the
// PORTTRACK_MUTANT environment variable names is the one switched on.
func schemaSwitch(pkg string) string {
	return "package " + pkg + `

import (
	"os"
	"strconv"
)

var porttrackMutant, _ = strconv.Atoi(os.Getenv("PORTTRACK_MUTANT"))

func porttrackMutantOn(id int) bool { return porttrackMutant == id }

func porttrackPick[T any](on bool, changed, orig T) T {
	if on {
		return changed
	}
	return orig
}
`
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// pureExpr reports an expression without calls (conversions aside),
// receives or function literals: evaluating it twice does no harm.
func pureExpr(e ast.Expr) bool {
	pure := true
	ast.Inspect(e, func(x ast.Node) bool {
		switch n := x.(type) {
		case *ast.CallExpr:
			if !isTypeExpr(n.Fun) {
				pure = false
			}
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				pure = false
			}
		case *ast.FuncLit:
			pure = false
		}
		return pure
	})
	return pure
}

func isStringLit(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	return ok && (lit.Kind == token.STRING || lit.Kind == token.CHAR)
}
