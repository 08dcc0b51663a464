package shapes

import (
	"testing"
	tt "testing"
)

// TestOneLine is a whole test on one line.
func TestOneLine(t *testing.T) { t.Log("x") }

func TestUnnamed(*testing.T) {
	// A brace in a comment: }
	_ = "} also in a string"
	_ = '}'
	_ = `}
	`
}

func TestRenamedImport(t *tt.T) {
	func() {
		if true {
			t.Log("nested")
		}
	}()
}

func Test(t *testing.T) {}

func Testlower(t *testing.T) {}

func TestResult(t *testing.T) error { return nil }

func TestGeneric[T any](t *testing.T) {}

func TestTwo(t, u *testing.T) {}

func TestBench(b *testing.B) {}

type suite struct{}

func (suite) TestMethod(t *testing.T) {}

var TestVar = func(t *testing.T) {}

func helper(t *testing.T) {
	t.Helper()
}

func TestÜmlaut(t *testing.T) {
	helper(t)
}

func TestLast(t *testing.T) {
	var x struct{ a [2]int }
	_ = x
}
