package textout

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain text, (*raft).vote 93%", "plain text, (*raft).vote 93%"},
		{"clear\x1b[2Jscreen", `clear\x1b[2Jscreen`},
		{"title\x1b]0;owned\x07", `title\x1b]0;owned\x07`},
		{"two\nlines\tand\rreturn", `two\nlines\tand\rreturn`},
		{"del\x7f", `del\x7f`},
		{"c1 csi \u009b2J", `c1 csi \u009b2J`},
		{"bidi \u202eevil", `bidi \u202eevil`},
		{"bad utf8 \xff\xfe", `bad utf8 \xff\xfe`},
		{"unicode kept: café → ✓ 日本", "unicode kept: café → ✓ 日本"},
		{"nbsp\u00a0kept", "nbsp\u00a0kept"},
	}
	for _, c := range cases {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
		if !IsSafe(Escape(c.in)) {
			t.Errorf("Escape(%q) is not safe to print", c.in)
		}
	}
}

func TestDecide(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name     string
		terminal bool
		cols     int
		getenv   func(string) string
		want     Settings
	}{
		{"terminal", true, 132, env(), Settings{Width: 132, Color: true, Terminal: true}},
		{"terminal ignores COLUMNS", true, 132, env("COLUMNS", "40"), Settings{Width: 132, Color: true, Terminal: true}},
		{"terminal NO_COLOR", true, 100, env("NO_COLOR", "1"), Settings{Width: 100, Terminal: true}},
		{"dumb terminal", true, 100, env("TERM", "dumb"), Settings{Width: 100, Terminal: true}},
		{"terminal of unknown size", true, 0, env("COLUMNS", "120"), Settings{Width: 120, Color: true, Terminal: true}},
		{"pipe", false, 0, env(), Settings{Width: DefaultWidth}},
		{"pipe with COLUMNS", false, 0, env("COLUMNS", "200"), Settings{Width: 200}},
		{"pipe with bad COLUMNS", false, 0, env("COLUMNS", "wide"), Settings{Width: DefaultWidth}},
		{"pipe never coloured", false, 0, env("COLUMNS", "100", "TERM", "xterm-256color"), Settings{Width: 100}},
	}
	for _, c := range cases {
		if got := decide(c.terminal, c.cols, c.getenv); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	// A bytes.Buffer is no terminal.
	if got := Detect(&bytes.Buffer{}, env("COLUMNS", "90")); got != (Settings{Width: 90}) {
		t.Errorf("Detect(buffer) = %+v", got)
	}
}

func TestFitColumns(t *testing.T) {
	cases := []struct {
		natural, keep []int
		limit         int
		want          []int
	}{
		{[]int{4, 30, 8}, nil, 0, []int{4, 30, 8}},
		{[]int{4, 30, 8}, nil, 80, []int{4, 30, 8}},
		// 4+2+x+2+8 = 40: the wide column takes the whole cut.
		{[]int{4, 30, 8}, nil, 40, []int{4, 24, 8}},
		// Two wide columns share the cut, widest first.
		{[]int{4, 40, 30}, nil, 50, []int{4, 21, 21}},
		// A kept column is cut only after the others reach minCut.
		{[]int{4, 34, 46}, []int{1}, 70, []int{4, 34, 28}},
		{[]int{4, 34, 46}, []int{1}, 40, []int{4, 24, 8}},
		// The others lose half their width before the widest is cut
		// further: the cut is shared.
		{[]int{4, 30, 46}, nil, 50, []int{4, 19, 23}},
		// Nothing fits at minCut: everything goes down to one column.
		{[]int{10, 10, 10}, nil, 9, []int{1, 2, 2}},
	}
	for _, c := range cases {
		got := fitColumns(c.natural, c.keep, c.limit)
		if !slices.Equal(got, c.want) {
			t.Errorf("fitColumns(%v, keep %v, %d) = %v, want %v", c.natural, c.keep, c.limit, got, c.want)
		}
	}
}

func TestPrintFitsAndEscapes(t *testing.T) {
	table := Table{
		Header: []string{"ID", "Status", "Reason"},
		Rows: [][]string{
			{"2751", "verified", "passed every gate (porttrack verify --promote)"},
			{"2626", "deferred", "needs a \x1b[31mcluster\x1b[0m harness 日本語のテキスト"},
		},
		Keep: []int{0, 1},
	}
	for _, width := range []int{20, 40, 80} {
		var b bytes.Buffer
		w := NewWriter(&b, Settings{Width: width}, nil)
		if err := Print(w, table); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "\x1b") {
			t.Fatalf("width %d: raw escape in output:\n%s", width, out)
		}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if Width(line) > width {
				t.Errorf("width %d: line of %d columns: %q", width, Width(line), line)
			}
		}
		if width == 40 && !strings.Contains(out, "2626  deferred  needs a \\x1b[31mcluster…") {
			t.Errorf("width 40: cut cell missing:\n%s", out)
		}
	}
	wide := true
	var b bytes.Buffer
	if err := Print(NewWriter(&b, Settings{Width: 20}, &wide), table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "passed every gate (porttrack verify --promote)") || strings.Contains(b.String(), Ellipsis) {
		t.Errorf("--wide cut a cell:\n%s", b.String())
	}
}

func TestColourOnlyWhenAllowed(t *testing.T) {
	table := Table{Header: []string{"ID", "Status"}, Rows: [][]string{{"1", "verified"}, {"2", "fail"}}}
	var plain, coloured bytes.Buffer
	if err := Print(NewWriter(&plain, Settings{Width: 80}, nil), table); err != nil {
		t.Fatal(err)
	}
	if err := Print(NewWriter(&coloured, Settings{Width: 80, Color: true}, nil), table); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b") {
		t.Errorf("colour without Color:\n%q", plain.String())
	}
	for _, want := range []string{styleGood + "verified" + styleReset, styleBad + "fail" + styleReset, styleHeader + "STATUS" + styleReset} {
		if !strings.Contains(coloured.String(), want) {
			t.Errorf("coloured output lacks %q:\n%q", want, coloured.String())
		}
	}
	// Colour codes take no columns: stripped, both outputs are the same.
	stripped := coloured.String()
	for _, code := range []string{styleGood, styleBad, styleHeader, styleReset} {
		stripped = strings.ReplaceAll(stripped, code, "")
	}
	if stripped != plain.String() {
		t.Errorf("coloured layout differs:\n%s\nvs\n%s", stripped, plain.String())
	}
}

func TestFieldsWrapProse(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b, Settings{Width: 40}, nil)
	err := Fields(w, []Field{
		{"Status", "complete"},
		{"Description", "Catchup and snapshot transfer, append-entry processing, WAL consistency"},
		{"Reason", "evil\x1b]0;title\x07"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "Status:      complete\n" +
		"Description: Catchup and snapshot\n" +
		"             transfer, append-entry\n" +
		"             processing, WAL consistency\n" +
		"Reason:      evil\\x1b]0;title\\x07\n"
	if b.String() != want {
		t.Errorf("Fields:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestCutFront(t *testing.T) {
	cases := []struct {
		in    string
		width int
		want  string
	}{
		{"raftport_test/elections_test.go", 40, "raftport_test/elections_test.go"},
		{"raftport_test/elections_test.go", 18, "…elections_test.go"},
		{"日本語のファイル.go", 9, "…イル.go"},
		{"abc", 0, "abc"},
	}
	for _, c := range cases {
		got := CutFront(c.in, c.width)
		if got != c.want {
			t.Errorf("CutFront(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
		if c.width > 0 && Width(got) > c.width {
			t.Errorf("CutFront(%q, %d) = %q is %d columns wide", c.in, c.width, got, Width(got))
		}
	}
}

func TestItemWrapsUnderItself(t *testing.T) {
	var b bytes.Buffer
	if err := Item(NewWriter(&b, Settings{Width: 30}, nil), 2, "batch 32 JS Cluster Meta: has no items yet; import them"); err != nil {
		t.Fatal(err)
	}
	want := "  batch 32 JS Cluster Meta:\n    has no items yet; import\n    them\n"
	if b.String() != want {
		t.Errorf("Item = %q, want %q", b.String(), want)
	}
}

func TestLineCuts(t *testing.T) {
	var b bytes.Buffer
	if err := Linef(NewWriter(&b, Settings{Width: 10}, nil), "%s %d", "abcdefghijkl", 7); err != nil {
		t.Fatal(err)
	}
	if b.String() != "abcdefghi…\n" {
		t.Errorf("Line = %q", b.String())
	}
}
