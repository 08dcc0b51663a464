package goimport

import (
	"go/ast"
	"go/token"
	"go/types"
)

// typeCheck type-checks every package of the tree from its source, so that
// calls through fields, variables and other files resolve. Packages
// outside the tree (the standard library included) are not read: they are
// stood in for by empty packages, and whatever is reached through them
// stays unresolved, falling back to the syntactic rules. That keeps the
// import independent of a module's dependencies being downloaded or
// building, and fast enough for a whole server. It returns the number of
// type errors, which such stand-ins make common.
func (r *resolver) typeCheck(fset *token.FileSet) int {
	r.info = &types.Info{Uses: map[*ast.Ident]types.Object{}}
	c := &checker{r: r, fset: fset, done: map[*pkgFiles]*types.Package{}, stubs: map[string]*types.Package{}}
	for _, p := range r.pkgs {
		c.check(p)
	}
	return c.errors
}

type checker struct {
	r      *resolver
	fset   *token.FileSet
	done   map[*pkgFiles]*types.Package
	stubs  map[string]*types.Package
	errors int
}

func (c *checker) check(p *pkgFiles) *types.Package {
	if pkg, ok := c.done[p]; ok {
		// nil while p is being checked: an import cycle, which the
		// checker reports as an error of its own.
		return pkg
	}
	c.done[p] = nil
	conf := types.Config{
		Importer:    importerFunc(c.importPackage),
		Error:       func(error) { c.errors++ },
		FakeImportC: true,
	}
	files := make([]*ast.File, len(p.files))
	for i, f := range p.files {
		files[i] = f.ast
	}
	pkg, _ := conf.Check(c.r.importPathOf(p), c.fset, files, c.r.info)
	c.done[p] = pkg
	return pkg
}

func (c *checker) importPackage(importPath string) (*types.Package, error) {
	if p := c.r.treePackage(importPath); p != nil {
		if pkg := c.check(p); pkg != nil {
			return pkg, nil
		}
	}
	if pkg, ok := c.stubs[importPath]; ok {
		return pkg, nil
	}
	pkg := types.NewPackage(importPath, guessPackageName(importPath))
	pkg.MarkComplete()
	c.stubs[importPath] = pkg
	return pkg, nil
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
