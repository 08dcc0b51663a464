package main

import (
	"errors"
	"io"
	"reflect"

	"github.com/porttrack-dev/porttrack/internal/db"
)

// writeResult is what a write command did, for --json. Changes lists what
// was changed (or, in a dry run, would be), also when the command then
// failed: a failed checkpoint is recorded, and the promotion chunks before
// a refused one stay applied. Details holds the command's other findings,
// printed as fields of their own beside it.
type writeResult struct {
	DryRun  bool
	Changes any
	Details map[string]any
}

// refusalJSON is one broken rule of a refused write.
type refusalJSON struct {
	Rule   string `json:"rule"`
	Detail string `json:"detail"`
	IDs    []int  `json:"ids"`
}

// printWriteJSON prints one JSON object for a write command, whatever its
// outcome: "ok", "dry_run", "changes" and the details, and when err is not
// nil the rules that refused it ("refused") or the error ("error"). The
// caller still returns err, so the exit code and the line on stderr are
// those of the text output.
func printWriteJSON(w io.Writer, res writeResult, err error) error {
	out := map[string]any{}
	for k, v := range res.Details {
		out[k] = v
	}
	changes := res.Changes
	if v := reflect.ValueOf(changes); !v.IsValid() || (v.Kind() == reflect.Slice && v.IsNil()) {
		changes = []any{}
	}
	out["ok"], out["dry_run"], out["changes"] = err == nil, res.DryRun, changes
	var refused *db.RefusedError
	switch {
	case errors.As(err, &refused):
		list := make([]refusalJSON, len(refused.Violations))
		for i, v := range refused.Violations {
			list[i] = refusalJSON{Rule: v.Rule, Detail: v.Detail, IDs: v.IDs}
			if list[i].IDs == nil {
				list[i].IDs = []int{}
			}
		}
		out["refused"] = list
	case err != nil:
		out["error"] = err.Error()
	}
	return writeJSON(w, out)
}

// finishWrite ends a write command: with asJSON it prints the JSON outcome
// and passes err on; otherwise it runs printText when err is nil.
func finishWrite(w io.Writer, asJSON bool, res writeResult, err error, printText func() error) error {
	if asJSON {
		return errors.Join(err, printWriteJSON(w, res, err))
	}
	if err != nil {
		return err
	}
	return printText()
}
