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
//     implemented", "unimplemented", "todo", ...), and either some result is
//     a stand-in error, or the function takes a parameter other than the
//     receiver, or its name starts with a verb that promises work (see
//     workVerbs). So `func (n *raft) ID() string { return n.id }` and
//     `func (n *Node) Close() error { return nil }` pass, while
//     `func decode(b []byte) error { return nil }` does not.
//
// Independently of the body's shape, these are findings too: a comment in
// the function or in its doc comment carrying a marker (markerRE) or
// admitting a shortcut (shortcutRE), and a named parameter (not the
// receiver, not "_") that the body never mentions.

// markerRE matches the work-left markers; the three classic ones only in
// capitals, so that prose like "todo list" or "xxx" in a hash stays quiet.
var markerRE = regexp.MustCompile(`\b(TODO|FIXME|XXX)\b|(?i)\bport[- ]?me\b`)

// shortcutRE matches comments that admit the code is not the real thing.
var shortcutRE = regexp.MustCompile(`(?i)\b(for now|simplified|minimal implementation|not yet|stubs?|stubbed|placeholders?)\b`)

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
func funcFindings(p *parsedFile, fd *ast.FuncDecl, withComments bool) []Finding {
	var out []Finding
	name := funcKey(fd)
	switch {
	case fd.Body == nil:
		out = append(out, p.finding(fd.Pos(), "%s has no body", name))
	case len(fd.Body.List) == 0:
		out = append(out, p.finding(fd.Body.Lbrace, "%s has an empty body", name))
	case len(fd.Body.List) == 1:
		if f, ok := placeholderStmt(p, fd, fd.Body.List[0]); ok {
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

func placeholderStmt(p *parsedFile, fd *ast.FuncDecl, st ast.Stmt) (Finding, bool) {
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

// commentFindings checks the doc comment and every comment inside fd.
func commentFindings(p *parsedFile, fd *ast.FuncDecl) []Finding {
	var out []Finding
	if fd.Doc != nil {
		out = append(out, groupFindings(p, fd.Doc)...)
	}
	for _, cg := range p.file.Comments {
		if cg.Pos() >= fd.Pos() && cg.End() <= fd.End() {
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
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			used[id.Name] = true
		}
		return true
	})
	var out []Finding
	for _, field := range fd.Type.Params.List {
		for _, id := range field.Names {
			if id.Name != "_" && !used[id.Name] {
				out = append(out, p.finding(id.Pos(), "%s never uses its parameter %s", funcKey(fd), id.Name))
			}
		}
	}
	return out
}
