//go:build race

package explain

// raceEnabled is set when the race detector runs, which slows the
// corpus-wide comparisons tenfold: they then run on one small corpus.
const raceEnabled = true
