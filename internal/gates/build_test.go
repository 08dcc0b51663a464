package gates

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestBuildGatePasses(t *testing.T) {
	in := &Input{RepoDir: fixtureDir(t), Items: []Item{featAdd, testAdd}}
	rs, err := Build{}.Run(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	got := byItem(t, rs)
	expect(t, got, featAdd, true, "", 0)
	expect(t, got, testAdd, true, "", 0)
	r := got[ItemKey{KindFeature, featAdd.ID}]
	if r.Command != "go build ./... && go vet ./calc" || r.ExitCode != 0 {
		t.Fatalf("command %q exit %d", r.Command, r.ExitCode)
	}
}

// A module that compiles but fails vet, and one that does not compile.
func TestBuildGateRefuses(t *testing.T) {
	cases := map[string]struct {
		src, want string
		line      int
	}{
		"vet":   {"package p\n\nimport \"fmt\"\n\nfunc F() string { return fmt.Sprintf(\"%d\", \"x\") }\n", "wrong type", 5},
		"build": {"package p\n\nfunc F() int { return \"x\" }\n", "cannot use", 3},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "go.mod"), "module example.com/broken\n\ngo 1.26\n")
			write(t, filepath.Join(dir, "p", "p.go"), c.src)
			item := Item{Kind: KindFeature, ID: 1, TargetFile: "p/p.go", TargetSymbol: "F"}
			rs, err := Build{}.Run(context.Background(), &Input{RepoDir: dir, Items: []Item{item}})
			if err != nil {
				t.Fatal(err)
			}
			got := byItem(t, rs)
			expect(t, got, item, false, c.want, c.line)
			if got[ItemKey{KindFeature, 1}].ExitCode == 0 {
				t.Fatal("exit code 0 on a refused build")
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
