#!/usr/bin/env bash
# The project's test command (README.md): formatting, vet, staticcheck and
# the race-enabled test suite. Fails on the first problem.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:$(go env GOPATH)/bin"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt: these files need formatting:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
staticcheck ./...
go test -race ./...
