package db

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParseCatalog: any three files either are bad input or parse into a
// catalog that ValidatePlan judges without panicking and that writes and
// reads back the same. The seeds (here and in testdata/fuzz) run as
// ordinary tests.
func FuzzParseCatalog(f *testing.F) {
	const (
		batches = "id\tname\tgo_file\tdepends_on\tstatus\tdescription\n"
		items   = "kind\tid\tbatch\tslice\tgo_file\tgo_symbol\tgo_line_start\tgo_line_end\n"
		calls   = "caller_id\tcallee_id\n"
	)
	f.Add(batches+"1\tOne\tx.go\t\tpending\tfirst\n2\tTwo\tx.go\t1\tin_progress\t\"quoted, with \"\"quotes\"\"\"\n",
		items+"feature\t10\t1\t\tx.go\t(*raft).vote\t1\t5\ntest\t10\t2\tT1\tx_test.go\tTestVote\t6\t9\n", calls+"10\t10\n")
	f.Add(batches+"1\tOne\tx.go\t1, 2\tcomplete\t\n", items+"feature\t1\t1\t\tx.go\tf\t3\t2\n", calls)
	f.Add(batches+"1\t a\tx.go\t\tpending\td\n", items+"feature\t1\t1\t\tx.go\tf\t1\t1\nfeature\t1\t1\t\tx.go\tf\t1\t1\n", calls+"1\t2\n1\t2\n")
	f.Add("id\tname\n", items, "")
	f.Add(batches+"x\t\t\t\t\t\n", "kind\tid\tbatch\tslice\tgo_file\tgo_symbol\tgo_line_start\n", calls+"1\n")
	f.Add(batches+"1\tOne\tx.go\t\tpending\td\n", items+"feature\t+7\t1\t\tx.go\tf\t0\t-0\n", calls+"\"7\"\t7\n")
	var real []string
	for _, name := range catalogFiles {
		data, err := os.ReadFile("../../catalog/" + name)
		if err != nil {
			f.Fatal(err)
		}
		// The first lines keep the seed small; the whole files are checked
		// by TestWriteCatalogRoundTrip.
		lines := strings.SplitAfter(string(data), "\n")
		real = append(real, strings.Join(lines[:min(len(lines), 12)], ""))
	}
	f.Add(real[0], real[1], real[2])
	f.Fuzz(func(t *testing.T, batches, items, calls string) {
		c, err := ParseCatalog(strings.NewReader(batches), strings.NewReader(items), strings.NewReader(calls))
		if err != nil {
			var bad *BadInputError
			if !errors.As(err, &bad) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParseCatalog: %v, want one line of bad input", err)
			}
			return
		}
		if err := ValidatePlan(c); err != nil {
			var bad *BadInputError
			var refused *RefusedError
			if !errors.As(err, &bad) && !errors.As(err, &refused) {
				t.Fatalf("ValidatePlan: %v, want bad input or a refusal", err)
			}
		}
		var b, i, k bytes.Buffer
		if err := EncodeCatalog(c, &b, &i, &k); err != nil {
			t.Fatal(err)
		}
		again, err := ParseCatalog(&b, &i, &k)
		if err != nil {
			t.Fatalf("a parsed catalog does not read back: %v", err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("catalog changed on a write and a read:\n%+v\n%+v", c, again)
		}
	})
}
