package main

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The release config builds what README promises: the six platforms,
// static, with checksums; the container image runs as a non-root user on
// a distroless base. (scripts/release-check.sh runs the config itself.)
func TestReleaseConfig(t *testing.T) {
	b, err := os.ReadFile("../../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Version int
		Builds  []struct {
			Main   string
			Env    []string
			Goos   []string
			Goarch []string
		}
		Checksum struct {
			Algorithm string
		}
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Version != 2 || len(cfg.Builds) != 1 {
		t.Fatalf("config %+v", cfg)
	}
	bd := cfg.Builds[0]
	if bd.Main != "./cmd/revertwatch" || strings.Join(bd.Goos, ",") != "linux,darwin,windows" || strings.Join(bd.Goarch, ",") != "amd64,arm64" ||
		!strings.Contains(strings.Join(bd.Env, " "), "CGO_ENABLED=0") || cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("build %+v, checksum %q", bd, cfg.Checksum.Algorithm)
	}
	d, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(d)
	if !strings.Contains(df, "FROM gcr.io/distroless/static") || !strings.Contains(df, "USER nonroot") || !strings.Contains(df, "CGO_ENABLED=0") {
		t.Errorf("the image is not static, distroless and non-root:\n%s", df)
	}
}
