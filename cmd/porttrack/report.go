package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/porttrack-dev/porttrack/internal/db"
	"github.com/porttrack-dev/porttrack/internal/textout"
)

// Formats of report summary.
const (
	formatText     = "text"
	formatMarkdown = "markdown"
	formatJSON     = "json"
)

var summaryFormats = []string{formatText, formatMarkdown, formatJSON}

type reportSummaryOptions struct {
	// Format is text, markdown or json.
	Format string
	// JSON is --json, shorthand for --format json.
	JSON bool
}

func newReportCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Progress reports: a summary for the terminal, pull requests or scripts, and an HTML page",
		Example: `  porttrack report summary
  porttrack report summary --format markdown >> "$GITHUB_STEP_SUMMARY"
  porttrack report html --out report && xdg-open report/index.html`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("report needs a subcommand: summary, html")
		},
	}
	cmd.AddCommand(newReportSummaryCmd(e), newReportHTMLCmd(e))
	return cmd
}

func newReportSummaryCmd(e *env) *cobra.Command {
	opts := &reportSummaryOptions{}
	cmd := &cobra.Command{
		Use:   "summary [--format text|markdown|json]",
		Short: "Overall progress (verified and n_a items count as done), then counts by status and by batch",
		Example: `  porttrack report summary
  porttrack report summary --format markdown   # a pull request comment
  porttrack report summary --format json | jq .percent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReportSummary(cmd.Context(), e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", formatText, "output format: text, markdown or json")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON (same as --format json)")
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(summaryFormats, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

type progressReport struct {
	Done     int            `json:"done"`
	Total    int            `json:"total"`
	Percent  float64        `json:"percent"`
	Features statusCounts   `json:"features"`
	Tests    statusCounts   `json:"tests"`
	Batches  []batchSummary `json:"batches"`
}

// done counts the items that need no more work.
func done(c statusCounts) int { return c[db.StatusVerified] + c[db.StatusNA] }

func percent(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return float64(part) * 100 / float64(whole)
}

// format resolves --format and --json into one format.
func (o *reportSummaryOptions) format() (string, error) {
	f := o.Format
	if f == "" {
		f = formatText
	}
	if !slices.Contains(summaryFormats, f) {
		return "", usagef("invalid --format %q: want text, markdown or json", o.Format)
	}
	if o.JSON {
		if f != formatText && f != formatJSON {
			return "", usagef("--json and --format %s contradict each other", f)
		}
		f = formatJSON
	}
	return f, nil
}

func loadProgress(ctx context.Context, e *env) (progressReport, error) {
	summaries, err := loadSummaries(ctx, e, (*db.DB).Batches)
	if err != nil {
		return progressReport{}, err
	}
	return progressOf(summaries), nil
}

func progressOf(summaries []batchSummary) progressReport {
	r := progressReport{Features: statusCounts{}, Tests: statusCounts{}, Batches: summaries}
	for _, s := range summaries {
		for st, n := range s.Features {
			r.Features[st] += n
		}
		for st, n := range s.Tests {
			r.Tests[st] += n
		}
	}
	r.Done = done(r.Features) + done(r.Tests)
	r.Total = r.Features.total() + r.Tests.total()
	r.Percent = percent(r.Done, r.Total)
	return r
}

func runReportSummary(ctx context.Context, e *env, opts *reportSummaryOptions) error {
	format, err := opts.format()
	if err != nil {
		return err
	}
	r, err := loadProgress(ctx, e)
	if err != nil {
		return err
	}
	switch format {
	case formatJSON:
		return writeJSON(e.Out, r)
	case formatMarkdown:
		_, err := io.WriteString(e.Out, markdownSummary(r))
		return err
	}
	textout.Linef(e.Out, "Overall progress: %d/%d (%.1f%%)", r.Done, r.Total, r.Percent)
	fmt.Fprintln(e.Out, "(verified and n_a items count as done)")
	fmt.Fprintln(e.Out, "\nBy status:")
	if err := renderTable(e.Out, []string{"Status", "Features", "Tests", "Total"}, statusRows(r)); err != nil {
		return err
	}
	fmt.Fprintln(e.Out, "\nBy batch:")
	return textout.Print(e.Out, textout.Table{Header: batchProgressHeader, Rows: batchProgressRows(r), Keep: []int{0, 2, 3, 4, 5}})
}

func statusRows(r progressReport) [][]string {
	var rows [][]string
	for _, st := range db.ItemStatuses {
		rows = append(rows, []string{string(st), fmt.Sprint(r.Features[st]), fmt.Sprint(r.Tests[st]), fmt.Sprint(r.Features[st] + r.Tests[st])})
	}
	return rows
}

var batchProgressHeader = []string{"Batch", "Name", "Status", "Features done", "Tests done", "Progress"}

func batchProgressRows(r progressReport) [][]string {
	var rows [][]string
	for _, s := range r.Batches {
		bDone := done(s.Features) + done(s.Tests)
		bTotal := s.Features.total() + s.Tests.total()
		rows = append(rows, []string{
			fmt.Sprint(s.ID), s.Name, string(s.Status),
			fmt.Sprintf("%d/%d", done(s.Features), s.Features.total()),
			fmt.Sprintf("%d/%d", done(s.Tests), s.Tests.total()),
			fmt.Sprintf("%d/%d (%.1f%%)", bDone, bTotal, percent(bDone, bTotal)),
		})
	}
	return rows
}

// markdownSummary is the summary as GitHub-flavoured Markdown, for a pull
// request or a CI job summary.
func markdownSummary(r progressReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Porting progress: %d/%d done (%.1f%%)\n\n", r.Done, r.Total, r.Percent)
	b.WriteString("Verified and n_a items count as done.\n\n")
	markdownTable(&b, []string{"Status", "Features", "Tests", "Total"}, "lrrr", statusRows(r))
	b.WriteString("\n")
	markdownTable(&b, batchProgressHeader, "rllrrr", batchProgressRows(r))
	return b.String()
}

// markdownTable writes a pipe table; align has one letter per column, l or
// r.
func markdownTable(b *strings.Builder, header []string, align string, rows [][]string) {
	row := func(cells []string) {
		escaped := make([]string, len(cells))
		for i, c := range cells {
			escaped[i] = markdownEscape(c)
		}
		b.WriteString("| " + strings.Join(escaped, " | ") + " |\n")
	}
	row(header)
	rules := make([]string, len(header))
	for i := range header {
		rules[i] = "---"
		if align[i] == 'r' {
			rules[i] = "---:"
		}
	}
	b.WriteString("| " + strings.Join(rules, " | ") + " |\n")
	for _, r := range rows {
		row(r)
	}
}

// markdownEscape makes stored text literal in a Markdown table cell:
// control characters escaped as in the terminal, and every character that
// could open markup there backslash-escaped, so a batch name cannot add a
// link, an image, a tag or a column to a pull request comment.
func markdownEscape(s string) string {
	var b strings.Builder
	for _, r := range textout.Escape(s) {
		if strings.ContainsRune("\\`*_[]<>|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
