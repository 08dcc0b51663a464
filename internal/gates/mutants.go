package gates

import (
	"fmt"
	"go/ast"
	"go/token"
	"strconv"
	"strings"
)

// mutant is one small textual change of a function body.
type mutant struct {
	kind        string // compare, negate, constant, drop
	start, end  int    // byte offsets of the replaced text
	replacement string
	line        int
	desc        string
}

// Mutant kinds, in the order the round-robin selection visits them.
var mutantKinds = []string{"compare", "negate", "constant", "drop"}

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
	add := func(kind string, n ast.Node, start, end int, repl, desc string) {
		sites[kind] = append(sites[kind], mutant{kind: kind, start: start, end: end, replacement: repl, line: p.line(n.Pos()), desc: desc})
	}
	lastTop := fd.Body.List[len(fd.Body.List)-1:]
	dropList := func(list []ast.Stmt) {
		for _, st := range list {
			if !droppable(st) || len(lastTop) == 1 && st == lastTop[0] {
				continue
			}
			add("drop", st, off(st.Pos()), off(st.End()), "", fmt.Sprintf("dropped `%s`", oneLine(text(st))))
		}
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BinaryExpr:
			if to, ok := boundary[x.Op]; ok {
				start := off(x.OpPos)
				add("compare", x, start, start+len(x.Op.String()), to.String(),
					fmt.Sprintf("`%s` -> `%s`", oneLine(text(x)), oneLine(text(x.X)+" "+to.String()+" "+text(x.Y))))
			}
		case *ast.IfStmt:
			cond := text(x.Cond)
			add("negate", x.Cond, off(x.Cond.Pos()), off(x.Cond.End()), "!("+cond+")",
				fmt.Sprintf("`if %s` -> `if !(%s)`", oneLine(cond), oneLine(cond)))
		case *ast.BasicLit:
			if x.Kind == token.INT {
				if v, err := strconv.ParseInt(strings.ReplaceAll(x.Value, "_", ""), 0, 64); err == nil {
					repl := strconv.FormatInt(v+1, 10)
					add("constant", x, off(x.Pos()), off(x.End()), repl, fmt.Sprintf("`%s` -> `%s`", x.Value, repl))
				}
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
// (:=, var) would only yield "declared and not used" errors, and the
// function's final return would yield "missing return".
func droppable(st ast.Stmt) bool {
	switch x := st.(type) {
	case *ast.ExprStmt, *ast.IncDecStmt, *ast.SendStmt, *ast.GoStmt, *ast.DeferStmt, *ast.ReturnStmt, *ast.BranchStmt:
		return true
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

// apply returns the source with the mutant's change.
func (m mutant) apply(src []byte) []byte {
	out := make([]byte, 0, len(src)+len(m.replacement))
	out = append(out, src[:m.start]...)
	out = append(out, m.replacement...)
	return append(out, src[m.end:]...)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}
