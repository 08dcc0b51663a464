package db

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteCatalog writes c as batches.tsv, catalog.tsv and calls.tsv into dir,
// creating dir if needed, in the format ReadCatalog reads. Each file is
// written beside its final name and renamed over it, so a reader never
// sees half a file.
func WriteCatalog(dir string, c *Catalog) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range catalogFiles {
		if err := writeAtomically(filepath.Join(dir, name), func(w io.Writer) error { return c.writeFile(w, name) }); err != nil {
			return fmt.Errorf("write catalog %s: %w", filepath.Join(dir, name), err)
		}
	}
	return nil
}

// EncodeCatalog writes the three files of c to the writers, in
// ParseCatalog's argument order.
func EncodeCatalog(c *Catalog, batches, items, calls io.Writer) error {
	for i, w := range []io.Writer{batches, items, calls} {
		if err := c.writeFile(w, catalogFiles[i]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Catalog) writeFile(w io.Writer, name string) error {
	cw := csv.NewWriter(w)
	cw.Comma = '\t'
	var rows [][]string
	switch name {
	case "batches.tsv":
		rows = append(rows, batchesHeader)
		for _, b := range c.Batches {
			deps := make([]string, len(b.DependsOn))
			for i, d := range b.DependsOn {
				deps[i] = strconv.Itoa(d)
			}
			rows = append(rows, []string{strconv.Itoa(b.ID), b.Name, b.GoFile, strings.Join(deps, ","), string(b.Status), b.Description})
		}
	case "catalog.tsv":
		rows = append(rows, catalogHeader)
		for _, it := range c.Items {
			rows = append(rows, []string{string(it.Kind), strconv.Itoa(it.ID), strconv.Itoa(it.BatchID), it.Slice, it.GoFile, it.GoSymbol,
				strconv.Itoa(it.GoLineStart), strconv.Itoa(it.GoLineEnd)})
		}
	case "calls.tsv":
		rows = append(rows, callsHeader)
		for _, call := range c.Calls {
			rows = append(rows, []string{strconv.Itoa(call[0]), strconv.Itoa(call[1])})
		}
	default:
		return fmt.Errorf("no catalog file %s", name)
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

func writeAtomically(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
