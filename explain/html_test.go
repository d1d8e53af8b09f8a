package explain

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromiumFlags keep headless Chromium off the network and out of the
// user's profile.
func chromiumFlags(profile string) []string {
	return []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + profile,
		"--enable-logging=stderr", "--v=0"}
}

// explainedPage renders several emulated findings on one page and
// returns it with the number of findings.
func explainedPage(t *testing.T) ([]byte, int) {
	t.Helper()
	h := huntEmulated(t, 200, "aws-chain-snapshot-volume-attach", "azure-restore-point-disk-swap", "aws-seed4-image-from-snapshot")
	var bs []*Bundle
	for _, f := range h.findings {
		bs = append(bs, h.index.Explain(f, Options{}))
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, bs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), len(bs)
}

// The page is one file: nothing in it is fetched at view time.
func TestHTMLSelfContained(t *testing.T) {
	data, n := explainedPage(t)
	page := string(data)
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<(script|img|link|iframe)[^>]+(src|href)\s*=`),
		regexp.MustCompile(`(?i)url\(`),
		regexp.MustCompile(`(?i)@import`),
	} {
		if m := re.FindString(page); m != "" {
			t.Errorf("page refers to an outside resource: %q", m)
		}
	}
	if !strings.Contains(page, "default-src 'none'") || strings.Count(page, `<svg class="tl"`) != n || n < 3 {
		t.Errorf("page lacks its content policy or one timeline per finding")
	}
}

// The page renders in headless Chromium without a script error, its
// script finds every timeline, and a screenshot is taken.
func TestHTMLRendersInChromium(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("chromium not installed (apt-get install chromium; .ci/run installs it): HTML render test skipped")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "explain.html")
	page, n := explainedPage(t)
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + file
	run := func(extra ...string) (stdout, stderr string) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		args := append(chromiumFlags(filepath.Join(dir, "profile")), extra...)
		cmd := exec.CommandContext(ctx, bin, append(args, url)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
		}
		return out.String(), errb.String()
	}

	dom, logs := run("--dump-dom")
	if want := fmt.Sprintf(`data-rendered="%d"`, n); !strings.Contains(dom, want) {
		t.Errorf("the page's script did not run to the end (no %s on body)", want)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "CONSOLE") && (strings.Contains(line, "Uncaught") || strings.Contains(line, "Error") || strings.Contains(line, "Refused")) {
			t.Errorf("console: %s", line)
		}
	}

	shot := filepath.Join(dir, "explain.png")
	run("--window-size=1280,2400", "--screenshot="+shot, "--hide-scrollbars")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot %v, want 1280x2400", b)
	}
	// The timeline's step marks are drawn in red: some pixel of the top
	// of the page must be that colour.
	red := 0
	for y := 0; y < 700; y++ {
		for x := 0; x < 1280; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 > 180 && g>>8 < 60 && b>>8 < 80 {
				red++
			}
		}
	}
	if red < 50 {
		t.Errorf("no timeline step marks in the screenshot (%d red pixels)", red)
	}
	if keep := os.Getenv("REVERTWATCH_SCREENSHOT_DIR"); keep != "" {
		data, _ := os.ReadFile(shot)
		if err := os.WriteFile(filepath.Join(keep, "explain.png"), data, 0o644); err != nil {
			t.Error(err)
		}
	}
}
