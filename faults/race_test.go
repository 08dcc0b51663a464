//go:build race

package faults

// raceBuild builds the kvnode processes with -race when the suite runs
// with it: they then reuse the race-instrumented packages the test binary
// was built from, instead of compiling the module again.
const raceBuild = true
