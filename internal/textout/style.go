package textout

// ANSI styles. Colour is a hint, never the only carrier of meaning: every
// coloured word is also printed.
const (
	styleNone   = ""
	styleHeader = "\x1b[1m"
	styleGood   = "\x1b[32m"
	styleBad    = "\x1b[31m"
	styleWait   = "\x1b[33m"
	styleBusy   = "\x1b[36m"
	styleFaint  = "\x1b[2m"
	styleReset  = "\x1b[0m"
)

// styleOf picks the colour of a whole cell by its word: item and batch
// statuses and gate outcomes; anything else is left plain.
func styleOf(cell string) string {
	switch cell {
	case "verified", "pass", "PASS", "ok":
		return styleGood
	case "fail", "FAIL":
		return styleBad
	case "deferred", "pending":
		return styleWait
	case "stub", "complete", "in_progress":
		return styleBusy
	case "n_a", "-":
		return styleFaint
	}
	return styleNone
}

func paint(s, style string) string {
	if style == styleNone || s == "" {
		return s
	}
	return style + s + styleReset
}
