package goimport

import (
	"os/exec"
	"strings"
	"testing"
)

// natsServerDir is the NATS server's server/ directory in the module cache
// (a dependency of this module's tests), or "" when it is not there.
func natsServerDir(b *testing.B) string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/nats-io/nats-server/v2").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		b.Skip("the NATS server module is not in the module cache")
	}
	return strings.TrimSpace(string(out)) + "/server"
}

// BenchmarkReadNATSServer reads the whole NATS server, the scale test of
// import go (see README.md).
func BenchmarkReadNATSServer(b *testing.B) {
	dir := natsServerDir(b)
	for _, mode := range []struct {
		name       string
		syntaxOnly bool
	}{{"types", false}, {"rules", true}} {
		b.Run(mode.name, func(b *testing.B) {
			for b.Loop() {
				t, err := Read(dir, Options{Files: []string{"*.go"}, SyntaxOnly: mode.syntaxOnly})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(t.Funcs)), "funcs")
				b.ReportMetric(float64(len(t.Calls)), "calls")
			}
		})
	}
}
