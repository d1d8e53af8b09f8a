package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// goreleaser checks the release config itself where it is installed; the
// snapshot build (six cross builds, minutes) runs with
// REVERTWATCH_RELEASE_SNAPSHOT=1 or scripts/release-check.sh.
func TestReleaseConfigGoreleaser(t *testing.T) {
	bin, err := exec.LookPath("goreleaser")
	if err != nil {
		t.Skip("goreleaser is not on the PATH: it is not installed here, and building github.com/goreleaser/goreleaser/v2 " +
			"from the module proxy takes over 15 minutes on 2 cores, so the test does not; TestReleaseConfig checks the config's " +
			"targets, checksums and image instead, and scripts/release-check.sh runs goreleaser --snapshot where it can be had")
	}
	root := filepath.Join("..", "..")
	cmd := exec.Command(bin, "check")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("goreleaser check: %v\n%s", err, out)
	}
	if os.Getenv("REVERTWATCH_RELEASE_SNAPSHOT") != "1" {
		t.Log("goreleaser check passed; set REVERTWATCH_RELEASE_SNAPSHOT=1 for the snapshot build")
		return
	}
	cmd = exec.Command("./scripts/release-check.sh")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/release-check.sh: %v\n%s", err, out)
	}
}

// The container image builds and runs where a builder (a docker daemon)
// is available.
func TestContainerImageBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the image build downloads base images and compiles the program")
	}
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no container builder here (no docker on the PATH); the Dockerfile is checked by TestReleaseConfig only")
	}
	if out, err := exec.Command(docker, "info").CombinedOutput(); err != nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Skipf("no container builder here (docker info: %v: %s); the Dockerfile is checked by TestReleaseConfig only", err, lines[len(lines)-1])
	}
	tag := "revertwatch:test-" + strconv.Itoa(os.Getpid())
	build := exec.Command(docker, "build", "-t", tag, ".")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	defer exec.Command(docker, "rmi", tag).Run()
	out, err := exec.Command(docker, "run", "--rm", tag, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "revertwatch") {
		t.Fatalf("docker run --version: %v\n%s", err, out)
	}
	out, err = exec.Command(docker, "run", "--rm", "--entrypoint", "", tag, "id", "-u").CombinedOutput()
	if err == nil && strings.TrimSpace(string(out)) == "0" {
		t.Error("the image runs as root")
	}
}
