package gates

import (
	"context"
	"testing"
)

// The planted defects of testdata/fixture/calc/planted.go and
// testdata/fixture/hollow: each is refused by the static scan with the
// finding named here, and the clean functions among them pass.

var (
	featLogOnly  = Item{Kind: KindFeature, ID: 21, TargetFile: "calc/planted.go", TargetSymbol: "LogOnly"}
	featHealthy  = Item{Kind: KindFeature, ID: 22, TargetFile: "calc/planted.go", TargetSymbol: "(*Node).Healthy", RefLines: 12}
	featDiscard  = Item{Kind: KindFeature, ID: 23, TargetFile: "calc/planted.go", TargetSymbol: "Discard"}
	featClamp    = Item{Kind: KindFeature, ID: 24, TargetFile: "calc/planted.go", TargetSymbol: "Clamp"}
	featHalve    = Item{Kind: KindFeature, ID: 25, TargetFile: "calc/planted.go", TargetSymbol: "Halve"}
	featTwice    = Item{Kind: KindFeature, ID: 26, TargetFile: "calc/planted.go", TargetSymbol: "Twice"}
	featQuarter  = Item{Kind: KindFeature, ID: 27, TargetFile: "calc/planted.go", TargetSymbol: "Quarter"}
	featHealthy1 = Item{Kind: KindFeature, ID: 28, TargetFile: "calc/planted.go", TargetSymbol: "(*Node).Healthy", RefLines: 3}
)

func hollowTest(id int, name string) Item {
	return Item{Kind: KindTest, ID: id, TargetFile: "hollow/hollow_test.go", TargetSymbol: name}
}

func scanPlanted(t *testing.T, items ...Item) map[ItemKey]Result {
	t.Helper()
	rs, err := StubScan{}.Run(context.Background(), &Input{RepoDir: fixtureDir(t), Items: items})
	if err != nil {
		t.Fatal(err)
	}
	return byItem(t, rs)
}

func TestRefusesLogOnlyBody(t *testing.T) {
	got := scanPlanted(t, featLogOnly)
	expect(t, got, featLogOnly, false, "LogOnly only logs", 9)
}

func TestRefusesZeroReturnWhereReferenceDidWork(t *testing.T) {
	got := scanPlanted(t, featHealthy, featHealthy1)
	expect(t, got, featHealthy, false, "only returns zero values, where the function it ports spans 12 lines", 15)
	// Against a one-line reference the same body is what was ported.
	expect(t, got, featHealthy1, true, "", 0)
}

func TestRefusesDiscardedParameter(t *testing.T) {
	got := scanPlanted(t, featDiscard)
	expect(t, got, featDiscard, false, "discards its parameter v with `_ = v`", 20)
}

func TestRefusesLowerCaseMarker(t *testing.T) {
	got := scanPlanted(t, featClamp)
	expect(t, got, featClamp, false, `unfinished work ("todo")`, 26)
}

func TestRefusesShortcutInCommentAbove(t *testing.T) {
	got := scanPlanted(t, featHalve, hollowTest(131, "TestShortcutAbove"))
	expect(t, got, featHalve, false, `("Hack")`, 33)
	expect(t, got, hollowTest(131, "TestShortcutAbove"), false, `("Hack")`, 109)
}

func TestRefusesShortcutInCommentBelow(t *testing.T) {
	got := scanPlanted(t, featTwice, featQuarter)
	expect(t, got, featTwice, false, `("Temporary workaround")`, 43)
	expect(t, got, featQuarter, true, "", 0)
}

func TestRefusesSetupHelperAsOnlyAssertion(t *testing.T) {
	it := hollowTest(121, "TestSetupOnly")
	got := scanPlanted(t, it)
	expect(t, got, it, false, "TestSetupOnly cannot fail", 54)
}

func TestRefusesAssertionUnderIfFalse(t *testing.T) {
	it := hollowTest(122, "TestIfFalse")
	got := scanPlanted(t, it)
	expect(t, got, it, false, "the assertion require_Equal is dead code (under a condition that is always false (line 61))", 62)
	expect(t, got, it, false, "TestIfFalse cannot fail", 0)
}

func TestRefusesAssertionUnderConstantCondition(t *testing.T) {
	it := hollowTest(123, "TestConstantCondition")
	got := scanPlanted(t, it)
	expect(t, got, it, false, "t.Fatalf is dead code (under a condition that is always false", 69)
}

func TestRefusesSelfComparison(t *testing.T) {
	a, b := hollowTest(124, "TestSelfComparison"), hollowTest(125, "TestSelfComparisonInCondition")
	got := scanPlanted(t, a, b)
	expect(t, got, a, false, "compares an expression with itself: require_Equal(…, got, got)", 75)
	expect(t, got, b, false, "compares an expression with itself: got != got", 80)
}

func TestRefusesHelperThatOnlyLogs(t *testing.T) {
	a, b := hollowTest(126, "TestLogHelper"), hollowTest(130, "TestNamedAssertion")
	got := scanPlanted(t, a, b)
	expect(t, got, a, false, "TestLogHelper cannot fail", 85)
	// A require_ name does not make a helper an assertion: its body does.
	expect(t, got, b, false, "TestNamedAssertion cannot fail", 105)
}

func TestRefusesEarlyReturn(t *testing.T) {
	it := hollowTest(127, "TestEarlyReturn")
	got := scanPlanted(t, it)
	expect(t, got, it, false, "dead code (after the return at line 92)", 93)
	expect(t, got, it, false, "TestEarlyReturn cannot fail", 0)
}

func TestRefusesSkipNowBeforeAssertions(t *testing.T) {
	it := hollowTest(128, "TestSkipNowFirst")
	got := scanPlanted(t, it)
	expect(t, got, it, false, "TestSkipNowFirst is skipped", 97)
	expect(t, got, it, false, "dead code (after the SkipNow at line 97)", 98)
}

func TestRefusesLogOnlyTest(t *testing.T) {
	it := hollowTest(129, "TestLogOnly")
	got := scanPlanted(t, it)
	expect(t, got, it, false, "TestLogOnly cannot fail", 101)
}

func TestAcceptsRealAssertions(t *testing.T) {
	a, b := hollowTest(132, "TestGood"), hollowTest(133, "TestGoodInSubtest")
	got := scanPlanted(t, a, b)
	expect(t, got, a, true, "", 0)
	expect(t, got, b, true, "", 0)
}
