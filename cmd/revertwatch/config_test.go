package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runCmd executes cmd with args and returns stdout, stderr and the error.
func runCmd(t *testing.T, cmd *cobra.Command, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestConfigCheckExample(t *testing.T) {
	out, errOut, err := runCmd(t, newRootCmd(), "config", "check", "-v", "../../examples/revertwatch.yaml")
	if err != nil || errOut != "" {
		t.Fatalf("err %v, stderr %q", err, errOut)
	}
	if !strings.HasPrefix(out, "../../examples/revertwatch.yaml: ok: 7 allow entries (1 drop), 0 warning(s)\n") ||
		!strings.Contains(out, "nightly-instance-scheduler (downgrade to low") {
		t.Fatalf("stdout:\n%s", out)
	}
}

func TestConfigCheckErrors(t *testing.T) {
	path := writeFile(t, "bad.yaml", `latenes: 15m
window: 2 days
allow:
  - name: ua-only
    reason: terraform
    single_attribute: true
    match:
      user_agent: "Terraform/*"
  - name: bad-values
    reason: r
    match:
      principal: "arn:aws:iam::[0-9"
      source_ip: 10.0.0.0/33
`)
	out, errOut, err := runCmd(t, newRootCmd(), "config", "check", path)
	if exitCode(err) != exitUsage || out != "" {
		t.Fatalf("exit %d, stdout %q", exitCode(err), out)
	}
	want := []string{
		path + `:1:1: config: unknown key "latenes" (did you mean "lateness"?)`,
		path + `:2:9: bad duration for window: "2 days"`,
		path + `:7:5: allow entry "ua-only": an entry on the user agent alone is refused`,
		path + `:12:18: bad glob "arn:aws:iam::[0-9" for principal: unterminated [ set`,
		path + `:13:18: bad source_ip "10.0.0.0/33"`,
		path + `: 5 error(s)`,
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) != len(want) {
		t.Fatalf("stderr:\n%s", errOut)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d:\n got %s\nwant %s…", i, lines[i], w)
		}
	}
}

func TestConfigCheckWarningsAndStrict(t *testing.T) {
	path := writeFile(t, "old.yaml", `allow:
  - name: y2k-migration
    reason: long done
    expires: 2000-01-31
    rules: [aws-no-such-rule]
    match:
      principal: "arn:aws:sts::*:assumed-role/Mig/*"
      account: "111122223333"
`)
	out, errOut, err := runCmd(t, newRootCmd(), "config", "check", path)
	if err != nil || !strings.Contains(out, "ok: 1 allow entries (0 drop), 2 warning(s)") {
		t.Fatalf("err %v stdout %q", err, out)
	}
	if !strings.Contains(errOut, path+`:4:14: warning: allow entry "y2k-migration" expired on 2000-01-31`) ||
		!strings.Contains(errOut, path+`:2:5: warning: allow entry "y2k-migration": rule "aws-no-such-rule" matches no rule`) {
		t.Fatalf("stderr:\n%s", errOut)
	}
	_, _, err = runCmd(t, newRootCmd(), "config", "check", "--strict", path)
	if exitCode(err) != exitUsage {
		t.Fatalf("--strict: exit %d", exitCode(err))
	}
	_, errOut, err = runCmd(t, newRootCmd(), "config", "check", filepath.Join(t.TempDir(), "missing.yaml"))
	if exitCode(err) != exitUsage || !strings.Contains(errOut, "no such file") {
		t.Fatalf("missing file: exit %d, %q", exitCode(err), errOut)
	}
	if _, _, err := runCmd(t, newRootCmd(), "config", "check"); err == nil {
		t.Fatal("no file accepted")
	}
}

func TestConfigFlag(t *testing.T) {
	good := writeFile(t, "good.yaml", "lateness: 30m\n")
	other := writeFile(t, "other.yaml", "lateness: 45m\n")
	bad := writeFile(t, "bad.yaml", "lateness: soon\n")
	load := func(args ...string) (string, error) {
		var c configFlag
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		c.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		var w bytes.Buffer
		cfg, err := c.load(&w)
		if err != nil {
			return "", err
		}
		return cfg.Lateness.String() + w.String(), nil
	}
	t.Setenv(configEnv, "")
	if got, err := load(); err != nil || got != "15m0s" {
		t.Fatalf("default: %q %v", got, err)
	}
	t.Setenv(configEnv, good)
	if got, err := load(); err != nil || got != "30m0s" {
		t.Fatalf("env: %q %v", got, err)
	}
	if got, err := load("--config", other); err != nil || got != "45m0s" {
		t.Fatalf("flag over env: %q %v", got, err)
	}
	_, err := load("--config", bad)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), bad+":1:11: bad duration for lateness") {
		t.Fatalf("bad config: %v", err)
	}
	expired := writeFile(t, "exp.yaml", "allow:\n  - name: e\n    reason: r\n    expires: 2001-01-01\n    match: {principal: p, account: a}\n")
	if got, err := load("--config", expired); err != nil || !strings.Contains(got, `warning: allow entry "e" expired on 2001-01-01`) {
		t.Fatalf("warnings not printed: %q %v", got, err)
	}
}

func TestRulesBenign(t *testing.T) {
	out, _, err := runCmd(t, newRulesBenignCmd())
	if err != nil || !strings.HasPrefix(out, "built-in benign actors, version ") {
		t.Fatalf("%v %q", err, out)
	}
	for _, id := range []string{"aws-autoscaling", "aws-backup", "aws-dlm", "aws-imagebuilder", "packer", "azure-backup", "azure-site-recovery", "azure-automation", "azure-autoscale", "gcp-managed-instance-group", "gcp-compute-system", "262044b1-e2ce-469f-a196-69ab7ada62d3", "source: https://"} {
		if !strings.Contains(out, id) {
			t.Errorf("listing lacks %s", id)
		}
	}
	again, _, _ := runCmd(t, newRulesBenignCmd())
	if again != out {
		t.Error("listing is not deterministic")
	}
	out, _, err = runCmd(t, newRulesBenignCmd(), "--format", "json")
	var set struct {
		Version string
		Actors  []struct {
			ID         string
			Sources    []string
			Signatures []string
		}
	}
	if err != nil || json.Unmarshal([]byte(out), &set) != nil || set.Version == "" || len(set.Actors) != 14 || len(set.Actors[0].Signatures) == 0 {
		t.Fatalf("json: %v %+v", err, set)
	}
	if _, _, err := runCmd(t, newRulesBenignCmd(), "--format", "xml"); exitCode(err) != exitUsage {
		t.Fatalf("bad format: %v", err)
	}
}
