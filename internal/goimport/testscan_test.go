package goimport

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// isTestFunc is go test's rule on a syntax tree: TestXxx taking one
// *pkg.T, with no type parameters and no results. scanTests must agree
// with it on every file.
func isTestFunc(fn *ast.FuncDecl) bool {
	if fn.Recv != nil || !testName(fn.Name.Name) || fn.Type.TypeParams != nil || fn.Type.Results != nil {
		return false
	}
	params := fn.Type.Params.List
	if len(params) != 1 || len(params[0].Names) > 1 {
		return false
	}
	star, ok := params[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	_, isIdent := sel.X.(*ast.Ident)
	return isIdent && sel.Sel.Name == "T"
}

func parsedTests(t *testing.T, path string) []testDecl {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []testDecl
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && isTestFunc(fn) {
			out = append(out, testDecl{name: fn.Name.Name, line: fset.Position(fn.Pos()).Line, endLine: fset.Position(fn.End()).Line})
		}
	}
	return out
}

// The token scan finds exactly the tests the parser finds, with the same
// spans, on the fixture's tricky shapes and on every test file of this
// repository.
func TestScanTestsAgreesWithParser(t *testing.T) {
	files := []string{filepath.Join("testdata", "shapes", "shapes_test.go")}
	err := filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "../.." {
			return filepath.SkipDir
		}
		if strings.HasSuffix(p, "_test.go") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	shapes, err := scanTests(token.NewFileSet(), files[0])
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range shapes {
		names = append(names, d.name)
	}
	if want := []string{"TestOneLine", "TestUnnamed", "TestRenamedImport", "Test", "TestÜmlaut", "TestLast"}; !slices.Equal(names, want) {
		t.Fatalf("tests of %s = %v, want %v", files[0], names, want)
	}
	if first := shapes[0]; first.line != 9 || first.endLine != 9 {
		t.Fatalf("TestOneLine spans %d-%d, want 9-9", first.line, first.endLine)
	}
	total := 0
	for _, path := range files {
		scanned, err := scanTests(token.NewFileSet(), path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		parsed := parsedTests(t, path)
		if !slices.Equal(scanned, parsed) {
			t.Errorf("%s: scanned %v, parsed %v", path, scanned, parsed)
		}
		total += len(parsed)
	}
	if total < 100 {
		t.Fatalf("only %d tests in %d files: the walk missed the repository's tests", total, len(files))
	}
}
