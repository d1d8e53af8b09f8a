package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/content"
)

// queryFixture writes a small Azure export and returns its path.
func queryFixture(t *testing.T) string {
	return writeFile(t, "azure.json", `{"time":"2024-05-01T10:00:00Z","operationName":"Microsoft.Compute/virtualMachines/delete","category":"Administrative","resultType":"Success","caller":"alice@x.com","resourceGroup":"RG1","correlationId":"c1","resourceId":"/subscriptions/s1/resourceGroups/RG1/providers/Microsoft.Compute/virtualMachines/vm1"}
{"time":"2024-05-01T10:01:00Z","operationName":"Microsoft.Compute/snapshots/write","category":"Administrative","resultType":"Success","caller":"alice@x.com","resourceGroup":"RG1","correlationId":"c2","resourceId":"/subscriptions/s1/resourceGroups/RG1/providers/Microsoft.Compute/snapshots/s1"}
`)
}

func TestRulesShowPrintsSeedExactly(t *testing.T) {
	out, _, err := runCmd(t, newRulesCmd(), "show", "t1578.004-sumo")
	q, _ := content.Query("t1578.004-sumo")
	if err != nil || out != q.Text {
		t.Fatalf("%v\n%q", err, out)
	}
	if _, _, err := runCmd(t, newRulesCmd(), "show", "nope"); exitCode(err) != exitUsage {
		t.Errorf("unknown id: %v", err)
	}
	out, _, _ = runCmd(t, newRulesCmd(), "list")
	if !strings.Contains(out, "\nt1578.004-sumo\tsumo\t") || !strings.HasPrefix(out, "aws-stop-start\tdetection\t") ||
		strings.Count(out, "\tdetection\t") != 24 {
		t.Errorf("list: %q", out)
	}
}

func TestQueryBuiltinFormats(t *testing.T) {
	path := queryFixture(t)
	out, _, err := runCmd(t, newQueryCmd(), "--builtin", "t1578.004-sumo", "--format", "json", path)
	want := `{"_sourceHost":"s1","caller":"alice@x.com","resourceGroup":"RG1","OpCount":2,"Operations":["Microsoft.Compute/snapshots/write","Microsoft.Compute/virtualMachines/delete"],"RiskLevels":["High","Medium"]}` + "\n"
	if err != nil || out != want {
		t.Fatalf("json: %v\n got %s\nwant %s", err, out, want)
	}
	out, _, err = runCmd(t, newQueryCmd(), "--builtin", "t1578.004-sumo", "--format", "csv", path)
	if err != nil || !strings.HasPrefix(out, "_sourceHost,caller,resourceGroup,OpCount,Operations,RiskLevels\ns1,alice@x.com,RG1,2,\"Microsoft.Compute/snapshots/write\nMicrosoft.Compute/virtualMachines/delete\",\"High\nMedium\"\n") {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	out, _, err = runCmd(t, newQueryCmd(), "--builtin", "t1578.004-sumo", path)
	if err != nil || !strings.Contains(out, "alice@x.com  RG1            2        Microsoft.Compute/snapshots/write") {
		t.Fatalf("table: %v\n%s", err, out)
	}
}

func TestQueryTextAndFile(t *testing.T) {
	path := queryFixture(t)
	out, _, err := runCmd(t, newQueryCmd(), "--format", "json", "| json auto | count by caller", path)
	if err != nil || out != `{"caller":"alice@x.com","_count":2}`+"\n" {
		t.Fatalf("%v %s", err, out)
	}
	qf := writeFile(t, "q.sumo", "| json auto\n| count")
	out, _, err = runCmd(t, newQueryCmd(), "--file", qf, "--format", "json", path)
	if err != nil || out != `{"_count":2}`+"\n" {
		t.Fatalf("%v %s", err, out)
	}
}

func TestQueryErrors(t *testing.T) {
	path := queryFixture(t)
	_, errOut, err := runCmd(t, newQueryCmd(), "| where matchs(x, \"a\")", path)
	if exitCode(err) != exitUsage || !strings.Contains(errOut, "query:1:9: unknown function matchs\n    | where matchs(x, \"a\")\n            ^^^^^^\nhelp: did you mean matches?") {
		t.Fatalf("%v\n%s", err, errOut)
	}
	_, errOut, err = runCmd(t, newQueryCmd(), "--dialect", "sumo", "--builtin", "t1578.004-sumo", path)
	if exitCode(err) != exitUsage || !strings.Contains(errOut, "eval is Splunk, not Sumo") {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if _, _, err := runCmd(t, newQueryCmd(), "--format", "xml", "| count", path); exitCode(err) != exitUsage {
		t.Errorf("bad format: %v", err)
	}
	if _, _, err := runCmd(t, newQueryCmd(), "--builtin", "nope", path); exitCode(err) != exitUsage {
		t.Errorf("bad builtin: %v", err)
	}
}

func TestQueryExplain(t *testing.T) {
	out, _, err := runCmd(t, newQueryCmd(), "--explain", "--builtin", "t1578.004-sumo")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| where matches(operationName, \"(?i)(snapshot|virtualMachine|instance|compute|create|delete|modify)\")",
		"as RiskLevel    // lowered from: eval RiskLevel",
		"removed (the field is never read before an aggregation drops it):",
		"as AlertType",
		"operationName    CloudTrail eventName",
		"count as OpCount, values(operationName) as Operations",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
}

// TestQuerySampleData runs the seed over the query package's own golden
// inputs, through the CLI, as a user would.
func TestQuerySampleData(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "query", "testdata", "seed-cloudtrail.txtar"))
	if err != nil {
		t.Skip(err)
	}
	s := string(data)
	start := strings.Index(s, "-- input-trail.json --\n")
	end := strings.Index(s, "-- output --")
	p := filepath.Join(dir, "trail.json")
	if err := os.WriteFile(p, []byte(s[start+len("-- input-trail.json --\n"):end]), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, newQueryCmd(), "--builtin", "t1578.004-sumo", "--format", "json", p)
	if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(out, `"OpCount":4`) {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestQueryFiltersInWorkers runs the seed, whose plan runs in the decoding
// goroutines, with record filters: the records they refuse there are left
// out of the rows and counted in the summary as keep counts them.
func TestQueryFiltersInWorkers(t *testing.T) {
	path := queryFixture(t)
	out, stderr, code := runStderr(t, "query", "-q", "--builtin", "t1578.004-sumo", "--format", "json", "--since", "2024-05-01T10:00:30Z", path)
	want := `{"_sourceHost":"s1","caller":"alice@x.com","resourceGroup":"RG1","OpCount":1,"Operations":["Microsoft.Compute/snapshots/write"],"RiskLevels":["Medium"]}` + "\n"
	if code != 0 || out != want {
		t.Fatalf("--since: exit %d\n got %s\nwant %s\n%s", code, out, want, stderr)
	}
	if !strings.Contains(stderr, "records: time=1") {
		t.Errorf("--since: the refused record is not counted:\n%s", stderr)
	}
	out, stderr, code = runStderr(t, "query", "-q", "--builtin", "t1578.004-sumo", "--format", "json", "--account", "s2", path)
	if code != 0 || out != "" || !strings.Contains(stderr, "records: account=2") {
		t.Fatalf("--account s2: exit %d\n%s\n%s", code, out, stderr)
	}
}
