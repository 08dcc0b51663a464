//go:build !race

package main

// raceEnabled tells tests that build porttrack to build it the same way,
// reusing the packages of the test build.
const raceEnabled = false
