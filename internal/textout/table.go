package textout

import (
	"io"
	"slices"
	"strings"

	"github.com/mattn/go-runewidth"
)

// Ellipsis marks a cell or line cut to fit.
const Ellipsis = "…"

// columnGap separates table columns.
const columnGap = "  "

// minCut is the narrowest a column is cut to before the columns listed in
// Keep are cut: short enough to make room, wide enough to recognise.
const minCut = 8

// Table is rows of cells under a header. Cells hold plain text; Print
// escapes them.
type Table struct {
	Header []string
	Rows   [][]string
	// Keep lists the columns (by index) that are cut only when cutting
	// every other column to half its width is not enough: IDs, names,
	// statuses.
	Keep []int
	// CutFront lists the columns cut at their start instead of their end,
	// because their end says most: file paths.
	CutFront []int
	// Indent is the number of spaces before every line.
	Indent int
}

// Print writes t to w as aligned columns fitted to w's width: when the
// natural widths do not fit, the widest columns are cut first (each cut
// cell ends in an ellipsis), so short columns stay whole. Statuses and
// gate results are coloured when w allows colour.
func Print(w io.Writer, t Table) error {
	s := SettingsOf(w)
	header := make([]string, len(t.Header))
	for i, h := range t.Header {
		header[i] = strings.ToUpper(Escape(h))
	}
	rows := make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = make([]string, len(header))
		for j := range header {
			if j < len(r) {
				rows[i][j] = Escape(r[j])
			}
		}
	}
	limit := s.Width
	if limit > 0 {
		limit = max(limit-t.Indent, 1)
	}
	widths := fitColumns(naturalWidths(header, rows), t.Keep, limit)
	indent := strings.Repeat(" ", t.Indent)
	var b strings.Builder
	writeRow(&b, indent, header, widths, t.CutFront, s.Color, true)
	for _, r := range rows {
		writeRow(&b, indent, r, widths, t.CutFront, s.Color, false)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func naturalWidths(header []string, rows [][]string) []int {
	widths := make([]int, len(header))
	for j, h := range header {
		widths[j] = runewidth.StringWidth(h)
	}
	for _, r := range rows {
		for j, c := range r {
			widths[j] = max(widths[j], runewidth.StringWidth(c))
		}
	}
	return widths
}

// fitColumns returns column widths whose total, gaps included, is at most
// limit (0: no limit). It cuts in rounds until the row fits: the columns
// not in keep down to half their width, then down to minCut; then every
// column down to minCut, then down to one character. Each round takes a
// column from the widest down, so the cut is shared by the columns that can
// best afford it.
func fitColumns(natural, keep []int, limit int) []int {
	widths := slices.Clone(natural)
	if limit <= 0 || len(widths) == 0 {
		return widths
	}
	budget := limit - len(columnGap)*(len(widths)-1)
	freeDownTo := func(floor func(j int) int) func(j int) int {
		return func(j int) int {
			if slices.Contains(keep, j) {
				return natural[j]
			}
			return floor(j)
		}
	}
	half := func(j int) int { return max(minCut, natural[j]/2) }
	least := func(int) int { return minCut }
	rounds := []func(j int) int{freeDownTo(half), freeDownTo(least), least, func(int) int { return 1 }}
	for _, floor := range rounds {
		for sum(widths) > budget {
			widest := -1
			for j, wd := range widths {
				if wd > floor(j) && (widest < 0 || wd > widths[widest]) {
					widest = j
				}
			}
			if widest < 0 {
				break
			}
			widths[widest]--
		}
	}
	return widths
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func writeRow(b *strings.Builder, indent string, cells []string, widths, cutFront []int, color, header bool) {
	var line strings.Builder
	line.WriteString(indent)
	for j, c := range cells {
		if j > 0 {
			line.WriteString(columnGap)
		}
		cut := Cut(c, widths[j])
		if !header && slices.Contains(cutFront, j) {
			cut = CutFront(c, widths[j])
		}
		pad := widths[j] - runewidth.StringWidth(cut)
		switch {
		case color && header:
			line.WriteString(paint(cut, styleHeader))
		case color:
			line.WriteString(paint(cut, styleOf(cut)))
		default:
			line.WriteString(cut)
		}
		if j < len(cells)-1 {
			line.WriteString(strings.Repeat(" ", pad))
		}
	}
	b.WriteString(strings.TrimRight(line.String(), " "))
	b.WriteByte('\n')
}

// Cut shortens s to at most width columns, ending it in an ellipsis when
// anything was cut. width <= 0 means no limit.
func Cut(s string, width int) string {
	if width <= 0 || runewidth.StringWidth(s) <= width {
		return s
	}
	return runewidth.Truncate(s, width, Ellipsis)
}

// CutFront shortens s to at most width columns by cutting its start,
// marked by an ellipsis: "…/elections_test.go".
func CutFront(s string, width int) string {
	if width <= 0 || runewidth.StringWidth(s) <= width {
		return s
	}
	runes := []rune(s)
	kept, used := len(runes), runewidth.StringWidth(Ellipsis)
	for kept > 0 && used+runewidth.RuneWidth(runes[kept-1]) <= width {
		kept--
		used += runewidth.RuneWidth(runes[kept])
	}
	if used > width {
		// Not even the ellipsis fits in the room.
		return Cut(s, width)
	}
	return Ellipsis + string(runes[kept:])
}

// Width is the display width of s: the columns it takes on a terminal.
func Width(s string) int { return runewidth.StringWidth(s) }
