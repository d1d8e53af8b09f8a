#!/usr/bin/env bash
# The project's test command (README.md): formatting, vet, staticcheck, the
# race-enabled test suite, then the help and README examples (which run the
# test binary as revertwatch, too slowly under -race). Fails on the first
# problem.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"
# Check the tools first, so that a missing one is said before minutes of
# tests, not after.
if ! command -v go >/dev/null 2>&1; then
	echo "scripts/test.sh: go is not on the PATH (Go 1.26: https://go.dev/dl/)" >&2
	exit 2
fi
if ! command -v staticcheck >/dev/null 2>&1; then
	echo "scripts/test.sh: staticcheck is not installed (looked on the PATH and in $(go env GOPATH)/bin)." >&2
	echo "  Install it with:  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2" >&2
	echo "  (.ci/run installs it before running this script.)" >&2
	exit 2
fi
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
staticcheck ./...
go test -race ./...
go test -count=1 -run '^TestExamplesRun$' ./cmd/revertwatch
