//go:build race

package ingest_test

// raceEnabled lets the costliest tests shrink under the race detector.
const raceEnabled = true
