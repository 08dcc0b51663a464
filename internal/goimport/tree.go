// Package goimport reads a Go source tree into the rows of a porting
// catalog: every function and method of its non-test files as a feature,
// every Test function of its _test.go files as a test, each with its file
// and line span, and the static call graph between the features.
//
// Symbols are spelled as the catalog spells them: "decodePeerState",
// "(RaftState).String", "(*raft).processAppendEntry"; a generic receiver
// loses its type parameters ("(*Set).Add"), and the second and later
// functions of one name in one file (several func init) get "#2", "#3".
package goimport

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Func is one function or method that becomes a porting item.
type Func struct {
	// File is slash-separated and relative to the tree's directory.
	File   string
	Symbol string
	// Test marks a Test function of a _test.go file; every other Func is a
	// function or method of a non-test file.
	Test          bool
	Line, EndLine int
	Selected      bool
	recv, name    string
	decl          *ast.FuncDecl
	file          *fileInfo
}

// fileInfo is what the syntactic rules need to know about a feature's file.
type fileInfo struct {
	src *sourceFile
	// methods lists the file's methods by name.
	methods     map[string][]int
	importNames map[string]string
}

// Tree is what Read found. Funcs are in catalog order: files sorted by
// path, then declarations in source order.
type Tree struct {
	Dir   string
	Funcs []Func
	// Prefix is the tree directory's path inside its module ("server/"),
	// empty when the directory is the module's root or in no module: the
	// default start of every file's name in the catalog.
	Prefix string
	// Calls link features by their indices into Funcs, sorted by caller
	// and callee, without self-calls.
	Calls []Call
	// TypeErrors counts what the type checker could not resolve (mostly
	// uses of packages outside the tree); those calls fall back to the
	// syntactic rules.
	TypeErrors int
}

// Call is one edge of the call graph.
type Call struct {
	Caller, Callee int
	// ByRules is set when the catalog's syntactic rules find the call,
	// ByTypes when the type checker resolves it; at least one is.
	ByRules, ByTypes bool
}

// Options select what Read returns.
type Options struct {
	// Files are globs matched (path.Match) against each file's path
	// relative to the tree's directory; "*.go" means the top directory
	// only. Empty selects every .go file of the tree. Files that are not
	// selected are still read, so calls into them resolve.
	Files []string
	// SyntaxOnly turns off the type checker: calls follow only the
	// catalog's syntactic rules (see resolve.go).
	SyntaxOnly bool
}

// Read parses every .go file under dir (skipping the directories go
// itself ignores: testdata, vendor, and names starting with "." or "_"),
// and returns its features, tests and call graph.
func Read(dir string, opts Options) (*Tree, error) {
	for _, g := range opts.Files {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("bad --files pattern %q: %v", g, err)
		}
	}
	info, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	rels, err := goFiles(dir)
	if err != nil {
		return nil, err
	}
	selected := 0
	for _, rel := range rels {
		if matchAny(opts.Files, rel) {
			selected++
		}
	}
	if selected == 0 {
		if len(opts.Files) == 0 {
			return nil, fmt.Errorf("no .go files under %s", dir)
		}
		return nil, fmt.Errorf("no .go file under %s matches %s", dir, strings.Join(opts.Files, ","))
	}
	// Test files only contribute their tests, so an unselected one is
	// not read at all.
	var read []string
	for _, rel := range rels {
		if !strings.HasSuffix(rel, "_test.go") || matchAny(opts.Files, rel) {
			read = append(read, rel)
		}
	}
	fset := token.NewFileSet()
	files, err := parseAll(fset, dir, read)
	if err != nil {
		return nil, err
	}
	t := &Tree{Dir: dir}
	pkgs := groupPackages(files)
	for _, f := range files {
		t.addFuncs(fset, f, matchAny(opts.Files, f.rel))
	}
	importRoot, prefix := modulePath(dir)
	t.Prefix = prefix
	r := newResolver(t, pkgs, importRoot)
	if !opts.SyntaxOnly {
		t.TypeErrors = r.typeCheck(fset)
	}
	t.Calls = r.calls()
	return t, nil
}

func matchAny(globs []string, rel string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, rel); ok {
			return true
		}
	}
	return false
}

// goFiles lists the .go files under dir, slash-separated and sorted.
func goFiles(dir string) ([]string, error) {
	var rels []string
	err := filepath.WalkDir(dir, func(p string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := entry.Name()
		if entry.IsDir() {
			if p != dir && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && entry.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	slices.Sort(rels)
	return rels, err
}

// sourceFile is one parsed file.
type sourceFile struct {
	rel string
	// ast is the syntax of a non-test file; a test file has only its
	// tests.
	ast   *ast.File
	test  bool
	tests []testDecl
	// pkg is the package of a non-test file.
	pkg *pkgFiles
}

// parseAll parses the files on every core: parsing dominates the import of
// a large tree.
func parseAll(fset *token.FileSet, dir string, rels []string) ([]*sourceFile, error) {
	files := make([]*sourceFile, len(rels))
	errs := make([]error, len(rels))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				// The shared FileSet is safe for concurrent use.
				full := filepath.Join(dir, filepath.FromSlash(rels[i]))
				if strings.HasSuffix(rels[i], "_test.go") {
					tests, err := scanTests(fset, full)
					files[i], errs[i] = &sourceFile{rel: rels[i], test: true, tests: tests}, err
					continue
				}
				f, err := parser.ParseFile(fset, full, nil, parser.SkipObjectResolution)
				files[i], errs[i] = &sourceFile{rel: rels[i], ast: f}, err
			}
		})
	}
	for i := range rels {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// pkgFiles is one package: the non-test files of one directory with one
// package clause. Features and their calls live there; test files only
// contribute tests.
type pkgFiles struct {
	dir, name string
	files     []*sourceFile
	// funcs and methods index the package's features by name and by
	// receiver type and name.
	funcs   map[string][]int
	methods map[string][]int
}

func groupPackages(files []*sourceFile) map[string]*pkgFiles {
	pkgs := map[string]*pkgFiles{}
	for _, f := range files {
		if f.test {
			continue
		}
		dir := path.Dir(f.rel)
		key := dir + " " + f.ast.Name.Name
		p := pkgs[key]
		if p == nil {
			p = &pkgFiles{dir: dir, name: f.ast.Name.Name, funcs: map[string][]int{}, methods: map[string][]int{}}
			pkgs[key] = p
		}
		p.files = append(p.files, f)
		f.pkg = p
	}
	return pkgs
}

// addFuncs appends f's items in source order.
func (t *Tree) addFuncs(fset *token.FileSet, f *sourceFile, selected bool) {
	seen := map[string]int{}
	// Repeated names in one file (several func init) are told apart.
	unique := func(symbol string) string {
		if seen[symbol]++; seen[symbol] > 1 {
			return fmt.Sprintf("%s#%d", symbol, seen[symbol])
		}
		return symbol
	}
	if f.test {
		for _, d := range f.tests {
			t.Funcs = append(t.Funcs, Func{File: f.rel, Symbol: unique(d.name), Test: true, Selected: selected, Line: d.line, EndLine: d.endLine})
		}
		return
	}
	p := f.pkg
	file := &fileInfo{src: f, methods: map[string][]int{}}
	for _, decl := range f.ast.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok {
			continue
		}
		recv, symbol := FuncSymbol(fn)
		if symbol == "" {
			continue
		}
		idx := len(t.Funcs)
		t.Funcs = append(t.Funcs, Func{
			File: f.rel, Symbol: unique(symbol), Selected: selected,
			Line: fset.Position(fn.Pos()).Line, EndLine: fset.Position(fn.End()).Line,
			recv: recv, name: fn.Name.Name, decl: fn, file: file,
		})
		if recv == "" {
			p.funcs[fn.Name.Name] = append(p.funcs[fn.Name.Name], idx)
		} else {
			p.methods[recv+"."+fn.Name.Name] = append(p.methods[recv+"."+fn.Name.Name], idx)
			file.methods[fn.Name.Name] = append(file.methods[fn.Name.Name], idx)
		}
	}
}

// testName applies go test's rule to a name: TestXxx, where Xxx does not
// start with a lower-case letter.
func testName(name string) bool {
	rest, ok := strings.CutPrefix(name, "Test")
	if !ok {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	return rest == "" || !unicode.IsLower(r)
}

// FuncSymbol spells a declaration as the catalog does and returns its
// receiver's type name ("" for a function). A receiver whose type cannot
// be named yields an empty symbol.
func FuncSymbol(fn *ast.FuncDecl) (recv, symbol string) {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return "", fn.Name.Name
	}
	recv, pointer := ReceiverType(fn.Recv.List[0].Type)
	if recv == "" {
		return "", ""
	}
	if pointer {
		return recv, fmt.Sprintf("(*%s).%s", recv, fn.Name.Name)
	}
	return recv, fmt.Sprintf("(%s).%s", recv, fn.Name.Name)
}

// ReceiverType unwraps *T, T[K] and (T) down to the type's name.
func ReceiverType(expr ast.Expr) (name string, pointer bool) {
	for {
		switch t := unwrap(expr).(type) {
		case *ast.StarExpr:
			pointer, expr = true, t.X
		case *ast.Ident:
			return t.Name, pointer
		default:
			return "", pointer
		}
	}
}
