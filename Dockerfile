# revertwatch in a container: a static binary on distroless, as a non-root
# user. Build: docker build -t revertwatch .
# Run:   docker run --rm -v "$PWD/logs:/logs:ro" revertwatch hunt /logs
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/revertwatch ./cmd/revertwatch

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/revertwatch /usr/local/bin/revertwatch
USER nonroot:nonroot
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/revertwatch"]
CMD ["--help"]
