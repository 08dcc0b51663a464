package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// burnupChart is the geometry of the burn-up chart: the number of verified
// items over time against the scope (every item the log knows of), both
// replayed from the status log, drawn as SVG by the page.
type burnupChart struct {
	Width, Height            int
	Left, Right, Top, Bottom float64
	VerifiedLine             string
	VerifiedArea             string
	ScopeLine                string
	XTicks, YTicks           []chartTick
	// Points is how many moments the verified line steps through.
	Points   int
	Verified int
	Scope    int
	// EndX, EndY place the label of the final verified count.
	EndX, EndY float64
	From, To   string
}

type chartTick struct {
	Pos   float64
	Label string
}

// burnupPoint is the state after every change of one moment.
type burnupPoint struct {
	at              time.Time
	scope, verified int
}

// replayLog walks the log of features and tests in order and returns the
// scope and verified counts after each moment with a change.
func replayLog(log []db.LogEntry) []burnupPoint {
	status := map[string]string{}
	var points []burnupPoint
	scope, verified := 0, 0
	for _, l := range log {
		if l.Kind != db.KindFeature && l.Kind != db.KindTest {
			continue
		}
		at, err := time.Parse(time.RFC3339, l.At)
		if err != nil {
			continue
		}
		key := itemAnchor(l.Kind, l.ItemID)
		prev, seen := status[key]
		if !seen {
			scope++
		}
		if prev == string(db.StatusVerified) {
			verified--
		}
		if l.To == string(db.StatusVerified) {
			verified++
		}
		status[key] = l.To
		if n := len(points); n > 0 && points[n-1].at.Equal(at) {
			points[n-1].scope, points[n-1].verified = scope, verified
			continue
		}
		points = append(points, burnupPoint{at: at, scope: scope, verified: verified})
	}
	return points
}

func newBurnup(log []db.LogEntry) burnupChart {
	c := burnupChart{Width: 860, Height: 300, Left: 56, Right: 840, Top: 16, Bottom: 260}
	points := replayLog(log)
	if len(points) == 0 {
		return c
	}
	t0, t1 := points[0].at, points[len(points)-1].at
	if !t1.After(t0) {
		t1 = t0.Add(time.Hour)
	}
	maxScope := 0
	for _, p := range points {
		maxScope = max(maxScope, p.scope, p.verified)
	}
	yStep := niceStep(float64(maxScope) / 4)
	yMax := yStep * math.Ceil(float64(maxScope)/yStep)
	if yMax == 0 {
		yMax = 1
	}
	x := func(t time.Time) float64 {
		return c.Left + (c.Right-c.Left)*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	y := func(v int) float64 { return c.Bottom - (c.Bottom-c.Top)*float64(v)/yMax }

	var verified, scope strings.Builder
	for i, p := range points {
		if i == 0 {
			fmt.Fprintf(&verified, "M%.1f,%.1f", x(p.at), y(p.verified))
			fmt.Fprintf(&scope, "M%.1f,%.1f", x(p.at), y(p.scope))
			continue
		}
		fmt.Fprintf(&verified, " H%.1f V%.1f", x(p.at), y(p.verified))
		fmt.Fprintf(&scope, " H%.1f V%.1f", x(p.at), y(p.scope))
	}
	fmt.Fprintf(&verified, " H%.1f", c.Right)
	fmt.Fprintf(&scope, " H%.1f", c.Right)
	c.VerifiedLine, c.ScopeLine = verified.String(), scope.String()
	c.VerifiedArea = fmt.Sprintf("%s V%.1f H%.1f Z", c.VerifiedLine, c.Bottom, x(points[0].at))
	last := points[len(points)-1]
	c.Points, c.Verified, c.Scope = len(points), last.verified, last.scope
	c.EndX, c.EndY = c.Right, y(last.verified)
	c.From, c.To = t0.UTC().Format(time.RFC3339), points[len(points)-1].at.UTC().Format(time.RFC3339)
	for v := 0.0; v <= yMax+yStep/2; v += yStep {
		c.YTicks = append(c.YTicks, chartTick{Pos: y(int(v)), Label: fmt.Sprint(int(v))})
	}
	c.XTicks = timeTicks(t0, t1, x)
	return c
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 1 {
		return 1
	}
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// timeTicks places up to about six ticks at round times between t0 and t1.
// A label carries the date where the day changes, the time of day when the
// span is shorter than a few days.
func timeTicks(t0, t1 time.Time, x func(time.Time) float64) []chartTick {
	steps := []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
		30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
		24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour, 91 * 24 * time.Hour, 365 * 24 * time.Hour}
	span := t1.Sub(t0)
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= 6 {
			step = s
			break
		}
	}
	var ticks []chartTick
	lastDay := ""
	for t := t0.UTC().Truncate(step); !t.After(t1); t = t.Add(step) {
		if t.Before(t0) {
			continue
		}
		day := t.Format("Jan 2")
		label := day
		if step < 24*time.Hour {
			label = t.Format("15:04")
			if day != lastDay {
				label = day + " " + label
			}
		}
		lastDay = day
		ticks = append(ticks, chartTick{Pos: x(t), Label: label})
	}
	return ticks
}
