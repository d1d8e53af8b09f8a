package platforms_test

import (
	"fmt"

	"github.com/revertwatch/revertwatch/content"
	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/platforms"
	"github.com/revertwatch/revertwatch/sigma"
)

// Export the built-in content as Sigma, load it back into the Sigma
// engine and run one rule.
func ExampleExportSigma() {
	docs, err := platforms.ExportSigma(content.Reverts(), platforms.SigmaOptions{})
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
