package gates

import (
	"context"
	"fmt"
	"go/ast"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// StubScan is the static gate: it parses the target files with go/ast and
// refuses hollow bodies (see stubrules.go) and tests that are skipped
// or cannot fail (see testgraph.go). With Input.ScanDirs it also scans every
// function of every file in those directories and adds one whole-tree result.
type StubScan struct{}

func (StubScan) Name() string { return GateStubScan }

func (s StubScan) Run(ctx context.Context, in *Input) ([]Result, error) {
	start := time.Now()
	sc := &scanner{in: in, files: map[string]*parsedFile{}, graphs: map[string]*pkgGraph{}}
	var out []Result
	for _, it := range in.Items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fs, err := sc.item(it)
		if err != nil {
			return nil, err
		}
		out = append(out, stubResult(it.Kind, it.ID, fs, time.Since(start)))
	}
	if len(in.ScanDirs) > 0 {
		fs, err := sc.dirs(ctx, in.ScanDirs)
		if err != nil {
			return nil, err
		}
		r := stubResult("", 0, fs, time.Since(start))
		r.Summary = fmt.Sprintf("%s in %s: %s", plural(len(fs), "finding"), strings.Join(in.ScanDirs, ", "), r.Summary)
		out = append(out, r)
	}
	return out, nil
}

func stubResult(kind string, id int, fs []Finding, d time.Duration) Result {
	r := Result{Gate: GateStubScan, Kind: kind, ItemID: id, Passed: len(fs) == 0, Findings: fs, Duration: d}
	if r.Passed {
		r.Summary = "no placeholder found"
	} else {
		r.Summary = joinFindings(fs, 3)
	}
	return r
}

type scanner struct {
	in     *Input
	files  map[string]*parsedFile
	graphs map[string]*pkgGraph // dir + "\x00" + package name
}

func (sc *scanner) file(rel string) (*parsedFile, error) {
	if p, ok := sc.files[rel]; ok {
		return p, nil
	}
	p, err := parseFile(sc.in.abs(rel), rel)
	if err != nil {
		return nil, err
	}
	sc.files[rel] = p
	return p, nil
}

func (sc *scanner) graph(absDir, pkg string) (*pkgGraph, error) {
	k := absDir + "\x00" + pkg
	if g, ok := sc.graphs[k]; ok {
		return g, nil
	}
	g, err := loadPackageGraph(sc.in.root(), absDir, pkg)
	if err != nil {
		return nil, err
	}
	sc.graphs[k] = g
	return g, nil
}

// item returns the findings about one item. A missing or unparsable target
// file is a finding, not an error: the mapping points at code that is not
// (or no longer) there.
func (sc *scanner) item(it Item) ([]Finding, error) {
	p, err := sc.file(it.TargetFile)
	if err != nil {
		return []Finding{{File: it.TargetFile, Message: "cannot parse target file: " + err.Error()}}, nil
	}
	sym, err := parseSymbol(it.TargetSymbol)
	if err != nil {
		return nil, err
	}
	fd, _ := findFunc(p.file, sym)
	if fd == nil {
		return []Finding{{File: it.TargetFile, Message: fmt.Sprintf("target symbol %s not found", it.TargetSymbol)}}, nil
	}
	if it.Kind == KindFeature {
		return funcFindings(p, fd, true, it.RefLines), nil
	}
	g, err := sc.graph(filepath.Dir(sc.in.abs(it.TargetFile)), p.file.Name.Name)
	if err != nil {
		return nil, err
	}
	n := g.funcs[funcKey(fd)]
	if n == nil {
		return []Finding{{File: it.TargetFile, Line: p.line(fd.Pos()),
			Message: fmt.Sprintf("%s is not in package %s's call graph", it.TargetSymbol, p.file.Name.Name)}}, nil
	}
	return g.testFindings(n), nil
}

// dirs scans every .go file of the directories (not recursively): each
// comment of the file, each function by the hollow-body rules, and each
// TestXxx function of a _test.go file by the test rules as well.
func (sc *scanner) dirs(ctx context.Context, dirs []string) ([]Finding, error) {
	var out []Finding
	for _, dir := range dirs {
		absDir := sc.in.abs(dir)
		entries, err := os.ReadDir(absDir)
		if err != nil {
			return nil, fmt.Errorf("scan directory: %w", err)
		}
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			rel := relPath(sc.in.root(), filepath.Join(absDir, e.Name()))
			fs, err := sc.wholeFile(rel, absDir)
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out, nil
}

func (sc *scanner) wholeFile(rel, absDir string) ([]Finding, error) {
	p, err := sc.file(rel)
	if err != nil {
		return []Finding{{File: rel, Message: "cannot parse: " + err.Error()}}, nil
	}
	if ast.IsGenerated(p.file) {
		return nil, nil
	}
	var out []Finding
	for _, cg := range p.file.Comments {
		out = append(out, groupFindings(p, cg)...)
	}
	isTestFile := strings.HasSuffix(rel, "_test.go")
	for _, d := range p.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok {
			continue
		}
		if isTestFile && isTestFunc(fd) {
			g, err := sc.graph(absDir, p.file.Name.Name)
			if err != nil {
				return nil, err
			}
			for _, f := range g.testFindings(g.funcs[funcKey(fd)]) {
				// The file's comments were checked above.
				if !strings.HasPrefix(f.Message, "comment ") {
					out = append(out, f)
				}
			}
			continue
		}
		out = append(out, funcFindings(p, fd, false, 0)...)
	}
	return out, nil
}

// isTestFunc reports whether fd is a top-level TestXxx(t *testing.T).
func isTestFunc(fd *ast.FuncDecl) bool {
	if fd.Recv != nil || !strings.HasPrefix(fd.Name.Name, "Test") || fd.Type.Params.NumFields() != 1 {
		return false
	}
	rest := fd.Name.Name[len("Test"):]
	if rest != "" && rest[0] >= 'a' && rest[0] <= 'z' {
		return false
	}
	return isTestingType(fd.Type.Params.List[0].Type)
}
