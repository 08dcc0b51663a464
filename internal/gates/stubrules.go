package gates

import (
	"go/ast"
	"go/token"
	"regexp"
	"strconv"
	"strings"
)

// The rules for a hollow function body. A body is hollow when:
//
//   - it is missing or has no statements;
//   - its only statement is a call to panic;
//   - its only statement is a return whose every result is a zero value
//     (nil, 0, "", false, an empty composite literal, one of these converted
//     to a predeclared or literal type such as uint64(0) or []byte(nil), or
//     no results at all)
//     or a stand-in error (errors.New / fmt.Errorf whose text says "not
//     implemented", "unimplemented", ... as placeholderErrRE says), and either some result is
//     a stand-in error, or the function takes a parameter other than the
//     receiver, or its name starts with a verb that promises work (see
//     workVerbs). So `func (n *raft) ID() string { return n.id }` and
//     `func (n *Node) Close() error { return nil }` pass, while
//     `func decode(b []byte) error { return nil }` does not.
//
// A body is hollow too when every statement is a logging call (optionally
// followed by a zero-value return), and a lone zero-value return is hollow
// whatever the name when the reference function it ports spans more than
// three lines (Item.RefLines): the reference did work there.
//
// Independently of the body's shape, these are findings too: a comment in
// the function, in its doc comment or in the comment lines just around it
// carrying a marker (markerRE) or admitting a shortcut (shortcutRE), in any
// case; a named parameter (not the receiver, not "_") that the body never
// mentions; and a parameter only discarded with `_ = p`, which silences the
// compiler without using it.

// markerRE matches the work-left markers, in any case.
var markerRE = regexp.MustCompile(`(?i)\b(todo|fixme|xxx|hack(s|y|ish)?|port[- ]?me)\b`)

// shortcutRE matches comments that admit the code is not the real thing.
// "later" and "temporary" are ordinary words in Raft prose ("a later term",
// "a temporary file"), so they count only in the phrases that admit work
// left: a verb of unfinished work, then "later"; "temporary" before "workaround" and the like.
var shortcutRE = regexp.MustCompile(`(?i)\b(for now|simplif(y|ied|ies|ication)|minimal implementation|not yet|stubs?|stubbed|placeholders?|good enough|dummy|` +
	`(port|do|fix|handle|finish|implement|add|revisit|complete|fill( in)?|clean( up)?|wire( up)?)\b[\w ,'-]{0,40}\blater|` +
	`temporar(y|ily) (hack|fix|workaround|solution|implementation|code|shortcut|version|measure|return|value|disabled|skipped|removed))\b`)

// logCallRE matches the names of logging calls.
var logCallRE = regexp.MustCompile(`^(Debug|Info|Warn|Warning|Error|Notice|Trace|Log|Print|Fatal|Panic)(f|ln|w)?$|^(debug|warn|notice|trace|log|logf|print|printf|println)$`)

// placeholderErrRE matches the text of errors that stand in for code.
var placeholderErrRE = regexp.MustCompile(`(?i)not implemented|unimplemented|\btodo\b|not yet|not supported yet`)

// workVerbs are name prefixes of functions that must do something; one that
// only returns zero values is hollow even without parameters.
var workVerbs = []string{
	"apply", "build", "check", "compute", "create", "decode", "delete",
	"encode", "flush", "handle", "load", "marshal", "parse", "process",
	"read", "recover", "replay", "run", "save", "send", "start", "stop",
	"store", "sync", "unmarshal", "update", "validate", "write",
}

// funcFindings applies the hollow-body rules to one function declaration.
// withComments is false when the caller scans the file's comments itself.
func funcFindings(p *parsedFile, fd *ast.FuncDecl, withComments bool, refLines int) []Finding {
	var out []Finding
	name := funcKey(fd)
	switch {
	case fd.Body == nil:
		out = append(out, p.finding(fd.Pos(), "%s has no body", name))
	case len(fd.Body.List) == 0:
		out = append(out, p.finding(fd.Body.Lbrace, "%s has an empty body", name))
	case onlyLogs(fd.Body.List) && !logCallRE.MatchString(strings.ToUpper(fd.Name.Name[:1])+fd.Name.Name[1:]):
		out = append(out, p.finding(fd.Body.Lbrace, "%s only logs: its body is logging calls and nothing else", name))
	case len(fd.Body.List) == 1:
		if f, ok := placeholderStmt(p, fd, fd.Body.List[0], refLines); ok {
			out = append(out, f)
		}
	}
	if withComments {
		out = append(out, commentFindings(p, fd)...)
	}
	if fd.Body != nil {
		out = append(out, unusedParams(p, fd)...)
	}
	return out
}

func placeholderStmt(p *parsedFile, fd *ast.FuncDecl, st ast.Stmt, refLines int) (Finding, bool) {
	name := funcKey(fd)
	switch s := st.(type) {
	case *ast.ExprStmt:
		if isCallTo(s.X, "panic") {
			return p.finding(s.Pos(), "%s only panics", name), true
		}
	case *ast.ReturnStmt:
		placeholderErr := false
		for _, r := range s.Results {
			switch {
			case isPlaceholderError(r):
				placeholderErr = true
			case !isZeroValue(r):
				return Finding{}, false
			}
		}
		if placeholderErr {
			return p.finding(s.Pos(), "%s only returns a not-implemented error", name), true
		}
		if hasParams(fd) || promisesWork(fd.Name.Name) {
			return p.finding(s.Pos(), "%s only returns zero values", name), true
		}
		if refLines > 3 {
			return p.finding(s.Pos(), "%s only returns zero values, where the function it ports spans %d lines", name, refLines), true
		}
	}
	return Finding{}, false
}

func isCallTo(e ast.Expr, fn string) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	id, ok := call.Fun.(*ast.Ident)
	return ok && id.Name == fn
}

func isZeroValue(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return isZeroValue(x.X)
	case *ast.Ident:
		return x.Name == "nil" || x.Name == "false"
	case *ast.BasicLit:
		switch x.Kind {
		case token.INT, token.FLOAT, token.IMAG:
			v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSuffix(x.Value, "i"), "_", ""), 64)
			return err == nil && v == 0
		case token.STRING:
			s, err := strconv.Unquote(x.Value)
			return err == nil && s == ""
		}
	case *ast.CompositeLit:
		return len(x.Elts) == 0
	case *ast.CallExpr:
		// A conversion of a zero value, as in uint64(0) or []byte(nil). Only
		// unmistakable type expressions count: n.stop(nil) is a call that
		// does work, and syntax alone cannot tell T(nil) from f(nil).
		return len(x.Args) == 1 && isTypeExpr(x.Fun) && isZeroValue(x.Args[0])
	}
	return false
}

var predeclaredTypes = map[string]bool{
	"bool": true, "byte": true, "complex64": true, "complex128": true, "error": true,
	"float32": true, "float64": true, "int": true, "int8": true, "int16": true,
	"int32": true, "int64": true, "rune": true, "string": true, "uint": true,
	"uint8": true, "uint16": true, "uint32": true, "uint64": true, "uintptr": true, "any": true,
}

func isTypeExpr(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return predeclaredTypes[x.Name]
	case *ast.ParenExpr:
		return isTypeExpr(x.X) || isPointerType(x.X)
	case *ast.ArrayType, *ast.MapType, *ast.ChanType, *ast.FuncType, *ast.InterfaceType:
		return true
	}
	return false
}

// isPointerType recognises (*T) in a conversion such as (*T)(nil).
func isPointerType(e ast.Expr) bool {
	_, ok := e.(*ast.StarExpr)
	return ok
}

func isPlaceholderError(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) == 0 {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok || !(pkg.Name == "errors" && sel.Sel.Name == "New" || pkg.Name == "fmt" && sel.Sel.Name == "Errorf") {
		return false
	}
	found := false
	ast.Inspect(call.Args[0], func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING && placeholderErrRE.MatchString(lit.Value) {
			found = true
		}
		return !found
	})
	return found
}

func hasParams(fd *ast.FuncDecl) bool {
	return fd.Type.Params != nil && fd.Type.Params.NumFields() > 0
}

func promisesWork(name string) bool {
	lower := strings.ToLower(name)
	for _, v := range workVerbs {
		if strings.HasPrefix(lower, v) {
			rest := name[len(v):]
			// "Runs" or "Stores" is still the verb; "Running" or "Storage" is not.
			if rest == "" || rest == "s" || rest[0] >= 'A' && rest[0] <= 'Z' {
				return true
			}
		}
	}
	return false
}

// commentFindings checks the doc comment, every comment inside fd, and the
// comment lines around it: a group ending at most two lines above the
// declaration (a doc comment cut off by a blank line still speaks for the
// function), and one starting on its closing line or the line after that
// is no other declaration's doc.
func commentFindings(p *parsedFile, fd *ast.FuncDecl) []Finding {
	var out []Finding
	if fd.Doc != nil {
		out = append(out, groupFindings(p, fd.Doc)...)
	}
	first, last := p.line(fd.Pos()), p.line(fd.End())
	if fd.Doc != nil {
		first = p.line(fd.Doc.Pos())
	}
	docs := map[*ast.CommentGroup]bool{}
	declEnds := map[int]bool{} // a comment starting there trails another declaration
	for _, d := range p.file.Decls {
		declEnds[p.line(d.End())] = true
		switch x := d.(type) {
		case *ast.FuncDecl:
			docs[x.Doc] = true
		case *ast.GenDecl:
			docs[x.Doc] = true
		}
	}
	for _, cg := range p.file.Comments {
		if cg == fd.Doc {
			continue
		}
		inside := cg.Pos() >= fd.Pos() && cg.End() <= fd.End()
		end, start := p.line(cg.End()), p.line(cg.Pos())
		above := end < first && end >= first-3 && !declEnds[start]
		below := !docs[cg] && start >= last && start <= last+1 && cg.Pos() > fd.End()
		if inside || above || below {
			out = append(out, groupFindings(p, cg)...)
		}
	}
	return out
}

func groupFindings(p *parsedFile, cg *ast.CommentGroup) []Finding {
	var out []Finding
	for _, c := range cg.List {
		if m := markerRE.FindString(c.Text); m != "" {
			out = append(out, p.finding(c.Pos(), "comment marks unfinished work (%q)", m))
		} else if m := shortcutRE.FindString(c.Text); m != "" {
			out = append(out, p.finding(c.Pos(), "comment admits a shortcut (%q)", m))
		}
	}
	return out
}

// unusedParams reports named parameters the body never mentions. Shadowing
// can hide an unused parameter; it cannot invent one.
func unusedParams(p *parsedFile, fd *ast.FuncDecl) []Finding {
	if fd.Type.Params == nil {
		return nil
	}
	used := map[string]bool{}
	discarded := map[string]token.Pos{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.AssignStmt:
			// `_ = p` and `_, _ = p, q` only silence the compiler.
			if blankAssign(x) {
				for _, r := range x.Rhs {
					if id, ok := r.(*ast.Ident); ok {
						if _, seen := discarded[id.Name]; !seen {
							discarded[id.Name] = x.Pos()
						}
					} else {
						ast.Inspect(r, markUsed(used))
					}
				}
				return false
			}
		case *ast.Ident:
			used[x.Name] = true
		}
		return true
	})
	var out []Finding
	for _, field := range fd.Type.Params.List {
		for _, id := range field.Names {
			if id.Name == "_" || used[id.Name] {
				continue
			}
			if pos, ok := discarded[id.Name]; ok {
				out = append(out, p.finding(pos, "%s discards its parameter %s with `_ = %s` instead of using it", funcKey(fd), id.Name, id.Name))
				continue
			}
			out = append(out, p.finding(id.Pos(), "%s never uses its parameter %s", funcKey(fd), id.Name))
		}
	}
	return out
}

func blankAssign(a *ast.AssignStmt) bool {
	if a.Tok != token.ASSIGN {
		return false
	}
	for _, l := range a.Lhs {
		if id, ok := l.(*ast.Ident); !ok || id.Name != "_" {
			return false
		}
	}
	return true
}

func markUsed(used map[string]bool) func(ast.Node) bool {
	return func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			used[id.Name] = true
		}
		return true
	}
}

// onlyLogs reports whether every statement is a logging call, but for a
// final zero-value return.
func onlyLogs(list []ast.Stmt) bool {
	logs := 0
	for i, st := range list {
		if r, ok := st.(*ast.ReturnStmt); ok && i == len(list)-1 {
			for _, e := range r.Results {
				if !isZeroValue(e) {
					return false
				}
			}
			continue
		}
		es, ok := st.(*ast.ExprStmt)
		if !ok || !isLogCall(es.X) {
			return false
		}
		logs++
	}
	return logs > 0
}

func isLogCall(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		return logCallRE.MatchString(fun.Name)
	case *ast.SelectorExpr:
		if pkg, ok := fun.X.(*ast.Ident); ok && (pkg.Name == "fmt" || pkg.Name == "log" || pkg.Name == "slog") {
			return strings.HasPrefix(fun.Sel.Name, "Print") || strings.HasPrefix(fun.Sel.Name, "Fprint") || logCallRE.MatchString(fun.Sel.Name)
		}
		return logCallRE.MatchString(fun.Sel.Name)
	}
	return false
}
