package goimport

import (
	"fmt"
	"path"
	"strings"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// Plan says how the selected functions of a Tree become catalog rows.
//
// IDs are assigned in catalog order (files sorted by path, declarations in
// source order): features from FirstFeatureID up, tests from FirstTestID
// up, one after the other without gaps, so the same tree and options give
// the same IDs every time.
type Plan struct {
	// Batch is the batch the items go to; with PerFile, the first one.
	Batch     int
	Name      string
	DependsOn []int
	// PerFile makes one batch per selected file, numbered from Batch in
	// file order; the tests of x_test.go join the batch of x.go in the
	// same directory when that file has features, and otherwise have a
	// batch of their own. A file without items gets no batch. Batches are
	// named after their file, after Name when it is given.
	PerFile                     bool
	FirstFeatureID, FirstTestID int
	// Prefix starts every file's name in the catalog ("server/").
	Prefix string
	// Existing finds the ID of a feature already listed, by file (with
	// Prefix) and symbol, so that calls between it and the new features
	// are kept. Calls between two existing features are not added.
	Existing map[[2]string]int
}

// Catalog returns the batches, items and calls the plan adds, and how many
// of those calls only the type checker found.
func (t *Tree) Catalog(p Plan) (c *db.Catalog, typesOnly int) {
	c = &db.Catalog{}
	batchOf := t.assignBatches(p, c)
	nextFeature, nextTest := p.FirstFeatureID, p.FirstTestID
	ids := map[int]int{}
	for i, f := range t.Funcs {
		if !f.Selected {
			continue
		}
		it := db.Item{Kind: db.KindFeature, BatchID: batchOf[f.File], GoFile: p.Prefix + f.File, GoSymbol: f.Symbol,
			GoLineStart: f.Line, GoLineEnd: f.EndLine, Status: db.StatusDeferred, Reason: db.InitialReason}
		if f.Test {
			it.Kind, it.ID = db.KindTest, nextTest
			nextTest++
		} else {
			it.ID = nextFeature
			ids[i] = it.ID
			nextFeature++
		}
		c.Items = append(c.Items, it)
	}
	for _, call := range t.Calls {
		caller, ok1 := t.featureID(call.Caller, ids, p)
		callee, ok2 := t.featureID(call.Callee, ids, p)
		_, callerNew := ids[call.Caller]
		_, calleeNew := ids[call.Callee]
		if ok1 && ok2 && (callerNew || calleeNew) {
			c.Calls = append(c.Calls, [2]int{caller, callee})
			if !call.ByRules {
				typesOnly++
			}
		}
	}
	return c, typesOnly
}

func (t *Tree) featureID(i int, ids map[int]int, p Plan) (int, bool) {
	if id, ok := ids[i]; ok {
		return id, true
	}
	f := t.Funcs[i]
	id, ok := p.Existing[[2]string{p.Prefix + f.File, f.Symbol}]
	return id, ok
}

// assignBatches adds the plan's batches to c and maps each selected file to
// its batch.
func (t *Tree) assignBatches(p Plan, c *db.Catalog) map[string]int {
	var files []string
	has := map[string]bool{}
	hasFeatures := map[string]bool{}
	for _, f := range t.Funcs {
		if !f.Selected {
			continue
		}
		if !has[f.File] {
			has[f.File] = true
			files = append(files, f.File)
		}
		if !f.Test {
			hasFeatures[f.File] = true
		}
	}
	batchOf := map[string]int{}
	newBatch := func(id int, name, goFile, description string) {
		c.Batches = append(c.Batches, db.Batch{ID: id, Name: name, GoFile: goFile, Status: db.BatchPending,
			Description: description, DependsOn: p.DependsOn})
	}
	if !p.PerFile {
		for _, f := range files {
			batchOf[f] = p.Batch
		}
		newBatch(p.Batch, p.Name, p.Prefix+commonFile(files), "imported from Go source: "+strings.Join(prefixed(p.Prefix, files), ", "))
		return batchOf
	}
	next := p.Batch
	for _, f := range files {
		if stem, isTest := strings.CutSuffix(f, "_test.go"); isTest && hasFeatures[stem+".go"] {
			continue
		}
		name := path.Base(f)
		if p.Name != "" {
			name = p.Name + " " + name
		}
		batchOf[f] = next
		newBatch(next, name, p.Prefix+f, "imported from Go source: "+p.Prefix+f)
		next++
	}
	for _, f := range files {
		if stem, isTest := strings.CutSuffix(f, "_test.go"); isTest && hasFeatures[stem+".go"] {
			batchOf[f] = batchOf[stem+".go"]
		}
	}
	return batchOf
}

// commonFile names what a batch of several files covers: the one non-test
// file if there is exactly one, or else the files' common directory.
func commonFile(files []string) string {
	var code []string
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			code = append(code, f)
		}
	}
	if len(code) == 1 {
		return code[0]
	}
	if len(files) == 1 {
		return files[0]
	}
	dir := path.Dir(files[0])
	for _, f := range files[1:] {
		for dir != "." && !strings.HasPrefix(f, dir+"/") {
			dir = path.Dir(dir)
		}
	}
	if dir == "." {
		return ""
	}
	return dir + "/"
}

func prefixed(prefix string, files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = prefix + f
	}
	if len(out) > 5 {
		return append(out[:5], fmt.Sprintf("and %d more", len(out)-5))
	}
	return out
}
