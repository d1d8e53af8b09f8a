package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// gcpFindingIDs returns the sorted finding ids (and rules) hunt prints.
func gcpFindingIDs(t *testing.T, path string) []string {
	t.Helper()
	out, err := run(t, "hunt", "--quiet", "--format", "ndjson", path)
	if err != nil {
		t.Fatalf("hunt %s: %v", path, err)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`"id":"(rw-[0-9a-f]+)","group_id":"rw-[0-9a-f]+","rule_id":"([a-z0-9-]+)"`).FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[2]+" "+m[1])
	}
	sort.Strings(ids)
	return ids
}

// reorder writes a Google Cloud fixture with its records in another
// order, in the same shape: the members of its array (gcloud's, the
// entries.list envelope's, the pull response's) or its lines.
func reorder(t *testing.T, data []byte, perm func([]json.RawMessage)) []byte {
	t.Helper()
	trim := bytes.TrimSpace(data)
	var b bytes.Buffer
	switch {
	case trim[0] == '[':
		var recs []json.RawMessage
		if err := json.Unmarshal(trim, &recs); err != nil {
			t.Fatal(err)
		}
		perm(recs)
		out, _ := json.Marshal(recs)
		b.Write(out)
	case envelope(trim) != nil:
		env := envelope(trim)
		for _, k := range []string{"entries", "receivedMessages"} {
			if raw, ok := env[k]; ok {
				var recs []json.RawMessage
				if err := json.Unmarshal(raw, &recs); err != nil {
					t.Fatal(err)
				}
				perm(recs)
				env[k], _ = json.Marshal(recs)
			}
		}
		out, _ := json.Marshal(env)
		b.Write(out)
	default:
		var recs []json.RawMessage
		for _, l := range bytes.Split(trim, []byte("\n")) {
			recs = append(recs, json.RawMessage(l))
		}
		perm(recs)
		for _, r := range recs {
			b.Write(r)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// envelope returns the members of a file that is one object holding the
// records in entries or receivedMessages, or nil.
func envelope(b []byte) map[string]json.RawMessage {
	var env map[string]json.RawMessage
	if json.Unmarshal(b, &env) != nil || env["entries"] == nil && env["receivedMessages"] == nil {
		return nil
	}
	return env
}

// A Google Cloud revert of each kind in the committed fixtures is found
// from each delivery shape, with the same finding ids, whatever the order
// of the records: as written (gcloud's newest first), oldest first
// reversed, and shuffled.
func TestHuntGCPEveryShapeEveryOrder(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../testdata/formats/gcp", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.Contains(p, "logs-explorer") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) != 6 {
		t.Fatalf("%d fixture files: %v", len(files), err)
	}
	want := gcpFindingIDs(t, files[0])
	rules := map[string]bool{}
	for _, id := range want {
		rules[strings.Fields(id)[0]] = true
	}
	for _, r := range []string{"gcp-stop-start", "gcp-suspend-resume", "gcp-snapshot-disk-swap", "gcp-snapshot-image-launch",
		"gcp-machine-image-launch", "gcp-snapshot-instance", "gcp-backupdr-restore"} {
		if !rules[r] {
			t.Errorf("the fixtures give no %s (%v)", r, want)
		}
	}
	orders := map[string]func([]json.RawMessage){
		"reversed": func(r []json.RawMessage) {
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
		},
		"shuffled": func(r []json.RawMessage) {
			rand.New(rand.NewPCG(16, 4)).Shuffle(len(r), func(i, j int) { r[i], r[j] = r[j], r[i] })
		},
		"as written": func([]json.RawMessage) {},
	}
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, perm := range orders {
			p := filepath.Join(dir, name+"-"+filepath.Base(f))
			if err := os.WriteFile(p, reorder(t, data, perm), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := gcpFindingIDs(t, p); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s %s:\n got  %v\n want %v", filepath.Base(f), name, got, want)
			}
		}
	}
}

// The Sumo query engine runs over Google Cloud entries: _sourceCategory
// is gcp/cloudaudit, _sourceHost the project, the seed aliases
// operationName, caller and resourceGroup the method as written, the
// principal and the zone; a category of another provider selects none.
func TestQueryGCP(t *testing.T) {
	const sink = "../../testdata/formats/gcp/storage-sink"
	out, err := run(t, "query", "--quiet", "--format", "csv",
		`_sourceCategory=gcp/cloudaudit | where operationName matches "*compute.instances.sto*" | count by _sourceHost, resourceGroup, caller, operationName`, sink)
	if err != nil {
		t.Fatal(err)
	}
	want := "_sourceHost,resourceGroup,caller,operationName,_count\n" +
		"acme-prod,us-central1-a,alice@acme.example,v1.compute.instances.stop,4\n" +
		"acme-prod,us-central1-a,mallory@acme.example,v1.compute.instances.stop,1\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out, err = run(t, "query", "--quiet", "--format", "csv", `_sourceCategory=aws/cloudtrail | count`, sink)
	if err != nil || strings.TrimSpace(out) != "_count\n0" && strings.TrimSpace(out) != "_count" {
		t.Errorf("another provider's category: %v %q", err, out)
	}
}
