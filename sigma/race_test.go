//go:build race

package sigma

// raceEnabled is set when the race detector runs, which slows the
// snapshot round trips of the state tests tenfold.
const raceEnabled = true
