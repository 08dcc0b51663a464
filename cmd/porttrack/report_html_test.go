package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// shippedDB is the committed database; tests read copies of it only.
const shippedDB = "../../porting.db"

// browserTimeout bounds everything the browser test does in Chromium:
// start, load, the DOM checks and the screenshot. It takes a few seconds.
const browserTimeout = 2 * time.Minute

// browserNames are the commands headless Chromium goes by; CHROME names one
// explicitly.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// findBrowser returns the path of a Chromium. Without one the test cannot
// run: under CI (CI set, as .ci/run does) that fails the test, since CI
// installs Debian's chromium; elsewhere the test is skipped with the reason.
func findBrowser(t *testing.T) string {
	t.Helper()
	names := browserNames
	if explicit := os.Getenv("CHROME"); explicit != "" {
		names = []string{explicit}
	}
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	msg := fmt.Sprintf("no headless Chromium found (looked for %s on PATH); install it with: apt-get install chromium", strings.Join(names, ", "))
	if os.Getenv("CI") != "" {
		t.Fatalf("%s. Under CI the browser test must run: .ci/run installs chromium", msg)
	}
	t.Skip(msg)
	return ""
}

// renderReport writes the report of a copy of the shipped database into a
// temporary directory and returns the page's path and the copy's path.
func renderReport(t *testing.T) (page, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "porting.db")
	copyFile(t, shippedDB, dbPath)
	before, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report")
	var stdout, stderr bytes.Buffer
	if code := execute(context.Background(), []string{"report", "html", "--out", out, "--db", dbPath}, &stdout, &stderr); code != exitOK {
		t.Fatalf("report html: exit %d: %s", code, stderr.String())
	}
	if after, err := os.ReadFile(dbPath); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("report html changed the database (%v)", err)
	}
	return filepath.Join(out, reportPage), dbPath
}

// pageFacts is what the browser reads back from the rendered page.
type pageFacts struct {
	Chart struct {
		Drawn        bool    `json:"drawn"`
		Length       float64 `json:"length"`
		Width        float64 `json:"width"`
		Height       float64 `json:"height"`
		PlotWidth    float64 `json:"plotWidth"`
		Points       int     `json:"points"`
		EndLabel     string  `json:"endLabel"`
		ScopeDrawn   bool    `json:"scopeDrawn"`
		RenderedWide float64 `json:"renderedWide"`
	} `json:"chart"`
	Counts []struct {
		Slice  string         `json:"slice"`
		Title  string         `json:"title"`
		Counts map[string]int `json:"counts"`
	} `json:"counts"`
	// Rows counts the item rows of each slice table of batch 31 by status.
	Rows      map[string]map[string]int `json:"rows"`
	Resources []string                  `json:"resources"`
	Done      string                    `json:"done"`
}

const readPageJS = `(() => {
  const facts = {chart: {}, counts: [], rows: {}, resources: [], done: ''};
  const svg = document.querySelector('#burnup svg.chart');
  const line = svg && svg.querySelector('path.verified');
  if (line) {
    const box = line.getBBox();
    const plot = svg.querySelector('line.axis').getBBox();
    Object.assign(facts.chart, {drawn: true, length: line.getTotalLength(), width: box.width, height: box.height,
      plotWidth: plot.width, points: Number(svg.dataset.points), endLabel: svg.querySelector('text.end').textContent,
      scopeDrawn: svg.querySelector('path.scope').getTotalLength() > 0,
      renderedWide: svg.getBoundingClientRect().width});
  }
  for (const tr of document.querySelectorAll('#batch-31-counts tr[data-slice]')) {
    const counts = {};
    for (const td of tr.querySelectorAll('td[data-status]')) counts[td.dataset.status] = Number(td.textContent.trim());
    facts.counts.push({slice: tr.dataset.slice, title: tr.dataset.title, counts});
  }
  for (const table of document.querySelectorAll('#batch-31 table.items')) {
    const byStatus = {};
    for (const tr of table.querySelectorAll('tr[data-status]')) byStatus[tr.dataset.status] = (byStatus[tr.dataset.status] || 0) + 1;
    facts.rows[table.dataset.slice] = byStatus;
  }
  facts.resources = performance.getEntriesByType('resource').map(e => e.name);
  facts.done = document.querySelector('#done').textContent.trim();
  return facts;
})()`

// The page of the shipped database, in a real browser: the burn-up chart
// is drawn to the number of verified items, batch 31's table shows the
// counts the database holds, and the page loads nothing.
func TestReportHTMLInBrowser(t *testing.T) {
	browser := findBrowser(t)
	page, dbPath := renderReport(t)
	want, verified, total := batchCounts(t, dbPath, 31)

	started := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()

	if err := chromedp.Do(tab, chromedp.Navigate("file://"+page)); err != nil {
		t.Fatalf("load %s: %v", page, err)
	}
	facts, err := chromedp.Run(tab, chromedp.Evaluate[pageFacts](readPageJS))
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shotPath := filepath.Join(t.TempDir(), "report.png")
	if err := os.WriteFile(shotPath, shot, 0o644); err != nil {
		t.Fatal(err)
	}

	// Printed on A4 (794 CSS pixels wide), nothing runs off the page and
	// the screen-only parts are gone.
	if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(tab, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: a4Width, Height: 1123, DeviceScaleFactor: 1}); err != nil {
		t.Fatal(err)
	}
	printed, err := chromedp.Run(tab, chromedp.Evaluate[printFacts](readPrintJS))
	if err != nil {
		t.Fatalf("read the printed page: %v", err)
	}
	t.Logf("browser part took %s; screenshot %s (%d bytes)", time.Since(started).Round(time.Millisecond), shotPath, len(shot))
	if printed.ScrollWidth > a4Width || printed.Nav != "none" || printed.Details != "none" {
		t.Errorf("printed on A4: %+v, want at most %d pixels wide with nav and details hidden", printed, a4Width)
	}

	c := facts.Chart
	if !c.Drawn || c.Length <= 0 || c.Width < c.PlotWidth*0.9 || c.Height <= 0 || c.Points < 2 || !c.ScopeDrawn || c.RenderedWide < 400 {
		t.Errorf("burn-up chart not drawn across the plot: %+v", c)
	}
	if c.EndLabel != fmt.Sprintf("%d verified", verified) {
		t.Errorf("chart ends at %q, want %d verified", c.EndLabel, verified)
	}
	if facts.Done != fmt.Sprintf("%d/%d", verified, total) {
		t.Errorf("headline %q, want %d/%d (every item of the shipped database is verified)", facts.Done, verified, total)
	}
	got := map[string]map[string]int{}
	for _, row := range facts.Counts {
		got[row.Slice] = row.Counts
	}
	if len(got) != len(want) {
		t.Errorf("batch 31 counts table has slices %v, want %v", got, want)
	}
	for slice, counts := range want {
		for _, st := range append(statusNames(), "total") {
			if got[slice][st] != counts[st] {
				t.Errorf("batch 31 %s %s: page shows %d, database has %d", slice, st, got[slice][st], counts[st])
			}
		}
		for st, n := range facts.Rows[slice] {
			if counts[st] != n {
				t.Errorf("batch 31 %s: %d %s rows in the item table, counts table says %d", slice, n, st, counts[st])
			}
		}
	}
	if len(facts.Resources) > 0 {
		t.Errorf("the page loaded resources; it must be self-contained: %v", facts.Resources)
	}
}

// a4Width is an A4 page's width in CSS pixels.
const a4Width = 794

type printFacts struct {
	ScrollWidth int64  `json:"scrollWidth"`
	Nav         string `json:"nav"`
	Details     string `json:"details"`
}

const readPrintJS = `({
  scrollWidth: document.documentElement.scrollWidth,
  nav: getComputedStyle(document.querySelector('nav')).display,
  details: getComputedStyle(document.querySelector('details')).display,
})`

func statusNames() []string {
	var out []string
	for _, st := range db.ItemStatuses {
		out = append(out, string(st))
	}
	return out
}

// batchCounts reads from the database how many items of each slice of a
// batch have each status, and the totals of verified and all items.
func batchCounts(t *testing.T, dbPath string, batch int) (counts map[string]map[string]int, verified, total int) {
	t.Helper()
	ctx := context.Background()
	d, err := db.OpenReadOnly(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	counts = map[string]map[string]int{}
	for _, kind := range []db.ItemKind{db.KindFeature, db.KindTest} {
		all, err := d.Items(ctx, kind, db.ItemFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range all {
			total++
			if it.Status == db.StatusVerified {
				verified++
			}
			if it.BatchID != batch {
				continue
			}
			if counts[it.Slice] == nil {
				counts[it.Slice] = map[string]int{}
			}
			counts[it.Slice][string(it.Status)]++
			counts[it.Slice]["total"]++
		}
	}
	return counts, verified, total
}
