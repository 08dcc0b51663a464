package goimport

import (
	"go/scanner"
	"go/token"
	"os"
)

// testDecl is a Test function found by scanTests.
type testDecl struct {
	name          string
	line, endLine int
}

// scanTests finds the Test functions of a _test.go file from its tokens,
// without building a syntax tree: test files are most of a large tree's
// lines and only their top-level test declarations become items. It
// accepts what isTestFunc accepts, func TestXxx(t *pkg.T) with no type
// parameters and no results, and reports a file that does not scan as Go.
func scanTests(fset *token.FileSet, path string) ([]testDecl, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	file := fset.AddFile(path, -1, len(src))
	var errs scanner.ErrorList
	var s scanner.Scanner
	s.Init(file, src, func(pos token.Position, msg string) { errs.Add(pos, msg) }, 0)
	var out []testDecl
	var (
		depth    int
		sig      []sigToken // tokens after a top-level func, until the signature is decided
		funcPos  token.Pos
		inBody   bool
		bodyName string
	)
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		switch t {
		case token.LBRACE, token.LPAREN, token.LBRACK:
			depth++
		case token.RBRACE, token.RPAREN, token.RBRACK:
			depth--
		}
		switch {
		case inBody:
			if t == token.RBRACE && depth == 0 {
				out = append(out, testDecl{name: bodyName, line: fset.Position(funcPos).Line, endLine: fset.Position(pos).Line})
				inBody = false
			}
		case sig != nil:
			sig = append(sig, sigToken{t, lit})
			switch matchTestSignature(sig) {
			case sigMatch:
				inBody, bodyName, sig = true, sig[0].lit, nil
			case sigMismatch:
				sig = nil
			}
		case t == token.FUNC && depth == 0:
			sig, funcPos = []sigToken{}, pos
		}
	}
	if len(errs) > 0 {
		return nil, errs.Err()
	}
	return out, nil
}

type sigToken struct {
	tok token.Token
	lit string
}

const (
	sigMismatch = iota
	sigIncomplete
	sigMatch
)

// testSignatures are the token shapes of "Name(t *pkg.T) {" and
// "Name(*pkg.T) {"; an empty literal matches any.
var testSignatures = [][]sigToken{
	{{token.IDENT, ""}, {token.LPAREN, ""}, {token.IDENT, ""}, {token.MUL, ""}, {token.IDENT, ""}, {token.PERIOD, ""}, {token.IDENT, "T"}, {token.RPAREN, ""}, {token.LBRACE, ""}},
	{{token.IDENT, ""}, {token.LPAREN, ""}, {token.MUL, ""}, {token.IDENT, ""}, {token.PERIOD, ""}, {token.IDENT, "T"}, {token.RPAREN, ""}, {token.LBRACE, ""}},
}

func matchTestSignature(sig []sigToken) int {
	if len(sig) > 0 && (sig[0].tok != token.IDENT || !testName(sig[0].lit)) {
		return sigMismatch
	}
	result := sigMismatch
	for _, want := range testSignatures {
		if len(sig) > len(want) {
			continue
		}
		ok := true
		for i, got := range sig {
			if got.tok != want[i].tok || (want[i].lit != "" && got.lit != want[i].lit) {
				ok = false
				break
			}
		}
		switch {
		case ok && len(sig) == len(want):
			return sigMatch
		case ok:
			result = sigIncomplete
		}
	}
	return result
}
