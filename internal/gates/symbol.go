package gates

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
)

// symbol is a parsed target symbol: "Func", "(T).Method" or "(*T).Method".
type symbol struct {
	Recv    string // receiver type name without '*', empty for functions
	Pointer bool
	Name    string
}

func parseSymbol(s string) (symbol, error) {
	bad := fmt.Errorf("malformed target symbol %q (want Func, (T).Method or (*T).Method)", s)
	if !strings.HasPrefix(s, "(") {
		if !token.IsIdentifier(s) {
			return symbol{}, bad
		}
		return symbol{Name: s}, nil
	}
	recv, name, ok := strings.Cut(s[1:], ").")
	if !ok || !token.IsIdentifier(name) {
		return symbol{}, bad
	}
	sym := symbol{Name: name}
	if strings.HasPrefix(recv, "*") {
		sym.Pointer = true
		recv = recv[1:]
	}
	if !token.IsIdentifier(recv) {
		return symbol{}, bad
	}
	sym.Recv = recv
	return sym, nil
}

// recvType returns the receiver's type name and whether it is a pointer;
// type parameters ("T[K]") are dropped.
func recvType(fd *ast.FuncDecl) (string, bool) {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return "", false
	}
	expr := fd.Recv.List[0].Type
	ptr := false
	if star, ok := expr.(*ast.StarExpr); ok {
		ptr, expr = true, star.X
	}
	switch x := expr.(type) {
	case *ast.IndexExpr:
		expr = x.X
	case *ast.IndexListExpr:
		expr = x.X
	}
	if id, ok := expr.(*ast.Ident); ok {
		return id.Name, ptr
	}
	return "", ptr
}

// funcKey names a declaration the way target symbols do.
func funcKey(fd *ast.FuncDecl) string {
	name, ptr := recvType(fd)
	switch {
	case fd.Recv == nil:
		return fd.Name.Name
	case ptr:
		return "(*" + name + ")." + fd.Name.Name
	}
	return "(" + name + ")." + fd.Name.Name
}

// findFunc looks the symbol up in a parsed file. A receiver whose pointer-ness
// differs from the symbol still matches (the mapping names the method, not
// its receiver form); the caller is told through the second result.
func findFunc(f *ast.File, sym symbol) (fd *ast.FuncDecl, exact bool) {
	for _, d := range f.Decls {
		cand, ok := d.(*ast.FuncDecl)
		if !ok || cand.Name.Name != sym.Name {
			continue
		}
		name, ptr := recvType(cand)
		if (cand.Recv == nil) != (sym.Recv == "") || name != sym.Recv {
			continue
		}
		if ptr == sym.Pointer {
			return cand, true
		}
		fd = cand
	}
	return fd, false
}

// parsedFile is a source file parsed with comments.
type parsedFile struct {
	fset *token.FileSet
	file *ast.File
	src  []byte
	path string // as reported in findings (relative to the repo)
}

func parseFile(absPath, relPath string) (*parsedFile, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, absPath, nil, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(absPath)
	if err != nil {
		return nil, err
	}
	return &parsedFile{fset: fset, file: f, src: src, path: relPath}, nil
}

func (p *parsedFile) line(pos token.Pos) int { return p.fset.Position(pos).Line }

func (p *parsedFile) finding(pos token.Pos, format string, args ...any) Finding {
	return Finding{File: p.path, Line: p.line(pos), Message: fmt.Sprintf(format, args...)}
}

// TargetHash is the hash of a mapped function's source (its declaration
// with its doc comment), or "" when it cannot be found: evidence records it,
// so a remapped item or a changed body tells from its old evidence.
func TargetHash(repoDir, file, symbol string) string {
	in := &Input{RepoDir: repoDir}
	p, err := parseFile(in.abs(file), file)
	if err != nil {
		return ""
	}
	sym, err := parseSymbol(symbol)
	if err != nil {
		return ""
	}
	fd, _ := findFunc(p.file, sym)
	if fd == nil {
		return ""
	}
	from := fd.Pos()
	if fd.Doc != nil {
		from = fd.Doc.Pos()
	}
	src := p.src[p.fset.Position(from).Offset:p.fset.Position(fd.End()).Offset]
	return "fn:" + shortHash(symbol+"\x00"+string(src))
}
