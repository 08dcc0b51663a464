package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/porttrack-dev/porttrack/internal/db"
)

func TestReportSummaryMarkdown(t *testing.T) {
	te := newTestEnv(t)
	update(t, te, db.KindFeature, "2599-2600", "n_a", "not part of the port")
	te.reset()
	if err := runReportSummary(context.Background(), te.env, &reportSummaryOptions{Format: formatMarkdown}); err != nil {
		t.Fatal(err)
	}
	want := "### Porting progress: 2/302 done (0.7%)\n\n" +
		"Verified and n_a items count as done.\n\n" +
		"| Status | Features | Tests | Total |\n" +
		"| --- | ---: | ---: | ---: |\n" +
		"| deferred | 196 | 104 | 300 |\n" +
		"| stub | 0 | 0 | 0 |\n" +
		"| complete | 0 | 0 | 0 |\n" +
		"| verified | 0 | 0 | 0 |\n" +
		"| n\\_a | 2 | 0 | 2 |\n\n" +
		"| Batch | Name | Status | Features done | Tests done | Progress |\n" +
		"| ---: | --- | --- | ---: | ---: | ---: |\n" +
		"| 30 | Raft Part 1 | pending | 2/145 | 0/85 | 2/230 (0.9%) |\n" +
		"| 31 | Raft Part 2 | pending | 0/53 | 0/19 | 0/72 (0.0%) |\n" +
		"| 32 | JS Cluster Meta | pending | 0/0 | 0/0 | 0/0 (0.0%) |\n"
	if got := te.out.String(); got != want {
		t.Errorf("markdown summary:\n%s\nwant:\n%s", got, want)
	}
}

func TestReportSummaryFormatFlags(t *testing.T) {
	te := newTestEnv(t)
	for _, args := range [][]string{{"--format", "json"}, {"--json"}, {"--json", "--format", "json"}} {
		code, stdout, stderr := runCLI(t, te, append([]string{"report", "summary"}, args...)...)
		var got progressReport
		if code != exitOK || json.Unmarshal([]byte(stdout), &got) != nil || got.Total != 302 {
			t.Errorf("report summary %v: exit %d, %q %q", args, code, stdout, stderr)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "html"}, `invalid --format "html"`},
		{[]string{"--json", "--format", "markdown"}, "--json and --format markdown contradict"},
	} {
		code, stdout, stderr := runCLI(t, te, append([]string{"report", "summary"}, c.args...)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("report summary %v: exit %d, stdout %q, stderr %q; want one line with %q", c.args, code, stdout, stderr, c.want)
		}
	}
}

func TestMarkdownEscape(t *testing.T) {
	got := markdownEscape("<img src=x>|[a](http://x) *b* `c` \x1b[2J & done_1")
	want := `\<img src=x\>\|\[a\](http://x) \*b\* \` + "`" + `c\` + "`" + ` \\x1b\[2J \& done\_1`
	if got != want {
		t.Errorf("markdownEscape = %s\nwant             %s", got, want)
	}
}

// The page escapes stored text for HTML and spells out control characters,
// and it names no resource to load.
func TestReportHTMLEscapesStoredText(t *testing.T) {
	te := newTinyEnv(t)
	const reason = "<script>alert(1)</script> \x1b]0;owned\x07 \u202eevil"
	update(t, te, db.KindTest, "10", "deferred", reason)
	out := filepath.Join(te.Root, "report")
	code, stdout, stderr := runCLI(t, te, "report", "html", "--out", out)
	if code != exitOK {
		t.Fatalf("report html: exit %d: %s", code, stderr)
	}
	mustContain(t, stdout, "index.html (5 items, 2 batches)")
	data, err := os.ReadFile(filepath.Join(out, reportPage))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	mustContain(t, page, `&lt;script&gt;alert(1)&lt;/script&gt; \x1b]0;owned\x07 \u202eevil`, `id="test-10"`, `id="batch-1-counts"`)
	for i, c := range data {
		if c < ' ' && c != '\n' {
			t.Fatalf("raw control byte %#x at %d: %q", c, i, data[max(0, i-40):min(len(data), i+40)])
		}
	}
	for _, bad := range []string{"<script", "\u202e", "src=", "http://", "https://", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
}

func TestReportHTMLBadInput(t *testing.T) {
	te := newTinyEnv(t)
	var ue *usageError
	if err := runReportHTML(context.Background(), te.env, &reportHTMLOptions{}); !errors.As(err, &ue) {
		t.Errorf("no --out: %v, want usage error", err)
	}
	file := filepath.Join(te.Root, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runReportHTML(context.Background(), te.env, &reportHTMLOptions{Out: file}); !errors.As(err, &ue) {
		t.Errorf("--out a file: %v, want usage error", err)
	}
}
