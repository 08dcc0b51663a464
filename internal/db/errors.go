package db

import (
	"fmt"
	"strconv"
	"strings"
)

// Violation is one broken rule with the IDs that broke it.
type Violation struct {
	Rule   string
	Detail string
	IDs    []int
}

// String renders the violation as the one line a user sees.
func (v Violation) String() string {
	if len(v.IDs) == 0 {
		return fmt.Sprintf("refused by rule %s: %s", v.Rule, v.Detail)
	}
	return fmt.Sprintf("refused by rule %s: %s: %s", v.Rule, v.Detail, JoinIDs(v.IDs))
}

// RefusedError means a rule refused the request and nothing was written.
type RefusedError struct {
	Violations []Violation
}

func (e *RefusedError) Error() string {
	lines := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		lines[i] = v.String()
	}
	return strings.Join(lines, "\n")
}

// refuse builds a RefusedError with a single violation.
func refuse(rule, detail string, ids ...int) *RefusedError {
	return &RefusedError{Violations: []Violation{{Rule: rule, Detail: detail, IDs: ids}}}
}

// BadInputError means the request itself is malformed or names things that do
// not exist (unknown IDs, a missing or corrupt database).
type BadInputError struct {
	Msg string
}

func (e *BadInputError) Error() string { return e.Msg }

// JoinIDs renders IDs as a comma-separated list, the same notation the CLI
// accepts.
func JoinIDs(ids []int) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	return strings.Join(parts, ",")
}
