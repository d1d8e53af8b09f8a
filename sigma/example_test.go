package sigma_test

import (
	"fmt"
	"os"

	"github.com/revertwatch/revertwatch/sigma"
)

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
