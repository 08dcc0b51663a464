package gates

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzStubScan feeds arbitrary Go source to the static rules: whatever parses
// must be scanned without a panic, without running away on recursive or
// mutually recursive helpers, and with the same findings twice.
func FuzzStubScan(f *testing.F) {
	for _, seed := range []string{
		"testdata/fixture/calc/calc.go", "testdata/fixture/calc/stubs.go", "testdata/fixture/calc/planted.go",
		"testdata/fixture/calctest/calc_test.go", "testdata/fixture/hollow/hollow_test.go",
	} {
		src, err := os.ReadFile(filepath.FromSlash(seed))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte("package x\nimport \"testing\"\nfunc a(t *testing.T) { b(t) }\nfunc b(t *testing.T) { a(t); if false || !true { t.Fatal() } }\nfunc TestA(t *testing.T) { a(t); return; t.Error() }\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		first, ok := scanSource(src)
		if !ok {
			return
		}
		again, _ := scanSource(src)
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("two scans of the same source differ:\n%v\n%v", first, again)
		}
	})
}

// scanSource applies the feature rules to every function of src and the test
// rules to every TestXxx; false if src does not parse.
func scanSource(src []byte) ([]Finding, bool) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "x_test.go", src, parser.ParseComments)
	if err != nil {
		return nil, false
	}
	p := &parsedFile{fset: fset, file: file, src: src, path: "x_test.go"}
	g := buildGraph([]*parsedFile{p})
	var out []Finding
	for _, cg := range file.Comments {
		out = append(out, groupFindings(p, cg)...)
	}
	for _, d := range file.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok {
			out = append(out, funcFindings(p, fd, true, 10)...)
			if isTestFunc(fd) {
				if n := g.funcs[funcKey(fd)]; n != nil {
					out = append(out, g.testFindings(n)...)
				}
			}
		}
	}
	return out, true
}
