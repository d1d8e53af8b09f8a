#!/usr/bin/env bash
# Checks the release config the way a release uses it, without a tag and
# without publishing: goreleaser in snapshot mode builds the six static
# binaries (linux, darwin, windows × amd64, arm64), the archives with the
# manual pages and completions, and checksums.txt, which is then verified.
# goreleaser is taken from the PATH, else run from the Go module proxy at
# the version below (the first run downloads and builds it: minutes).
# Then the container image, where a builder (a docker daemon) is there.
set -euo pipefail
cd "$(dirname "$0")/.."
GORELEASER_VERSION=v2.17.0
if command -v goreleaser >/dev/null 2>&1; then
	goreleaser=(goreleaser)
else
	echo "scripts/release-check.sh: goreleaser is not on the PATH; running github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION with go run" >&2
	goreleaser=(go run "github.com/goreleaser/goreleaser/v2@$GORELEASER_VERSION")
fi
"${goreleaser[@]}" check
"${goreleaser[@]}" release --snapshot --clean
archives=$(grep -c -E '\.(tar\.gz|zip)$' dist/checksums.txt)
if [ "$archives" -ne 6 ]; then
	echo "scripts/release-check.sh: dist/checksums.txt lists $archives archives, want 6" >&2
	exit 1
fi
(cd dist && sha256sum -c checksums.txt)
rm -rf dist-extra
if docker info >/dev/null 2>&1; then
	docker build -t revertwatch:check .
	docker run --rm revertwatch:check --version
else
	echo "scripts/release-check.sh: no container builder (docker daemon) here; the Dockerfile is not built" >&2
fi
