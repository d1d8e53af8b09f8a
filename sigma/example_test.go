package sigma_test

import (
	"fmt"
	"os"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/sigma"
)

// Export the built-in content, load it back and run one rule.
func Example() {
	docs, err := sigma.Export(content.Reverts(), sigma.ExportOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rs := sigma.NewRuleset(nil)
	for _, d := range docs {
		rs.AddFile(d.Name, d.YAML)
	}
	rs.Resolve()
	r := sigma.NewRunner(rs, sigma.RunOptions{OnHit: func(h *sigma.Hit) { fmt.Println("hit:", h.Rule.Ref()) }})
	r.Process(&event.Event{Provider: event.AWS, Format: event.FormatCloudTrailLines, Raw: []byte(
		`{"eventSource":"ec2.amazonaws.com","eventName":"CreateReplaceRootVolumeTask",` +
			`"requestParameters":{"CreateReplaceRootVolumeTaskRequest":{"InstanceId":"i-0abc"}}}`)})
	r.Flush()
	fmt.Println(len(rs.Problems), "problems")
	// Output:
	// hit: aws-replace-root-volume
	// 0 problems
}

// Lint reports problems as FILE:LINE:COL.
func ExampleLint() {
	res, _ := sigma.Lint("rule.yml", []byte(`title: stop
id: 0f6b5d1e-2c3a-4b5c-8d7e-9f0a1b2c3d4e
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName|startwith: StopInstances
    condition: selection
`), sigma.LintOptions{})
	for _, p := range res.Problems {
		fmt.Fprintln(os.Stdout, p)
	}
	// Output:
	// rule.yml:6:9: unsupported: rule 0f6b5d1e-2c3a-4b5c-8d7e-9f0a1b2c3d4e: unknown modifier |startwith on eventName; help: did you mean |startswith? [unsupported: modifier |startwith]
}
