package bench

import "slices"

// Spread is the median of several runs' values with their range.
type Spread struct {
	Median, Min, Max float64
	Runs             int
}

// SpreadOf summarises vals; an even count's median averages the middle
// two. No values give the zero Spread.
func SpreadOf(vals []float64) Spread {
	if len(vals) == 0 {
		return Spread{}
	}
	sorted := slices.Sorted(slices.Values(vals))
	mid := len(sorted) / 2
	med := sorted[mid]
	if len(sorted)%2 == 0 {
		med = (sorted[mid-1] + sorted[mid]) / 2
	}
	return Spread{Median: med, Min: sorted[0], Max: sorted[len(sorted)-1], Runs: len(sorted)}
}
