package query_test

import (
	"encoding/json"
	"os"
	"time"

	"github.com/revertwatch/revertwatch/event"
	"github.com/revertwatch/revertwatch/query"
)

func ExampleCompile() {
	prog, err := query.Compile(`_sourceCategory=*azure*
| json auto
| where matches(operationName, "(?i)delete")
| count by caller`, query.DefaultOptions())
	if err != nil {
		panic(err)
	}
	ev := &event.Event{
		Provider: event.Azure,
		Time:     time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		Raw:      json.RawMessage(`{"operationName":"Microsoft.Compute/disks/delete","caller":"alice@x.com"}`),
	}
	ev.Source.Category = event.CategoryAzure
	res := prog.RunEvents([]*event.Event{ev})
	res.WriteJSON(os.Stdout)
	// Output:
	// {"caller":"alice@x.com","_count":1}
}

func ExampleCompile_error() {
	_, err := query.Compile(`| where matchs(caller, "x")`, query.DefaultOptions())
	os.Stdout.WriteString(err.Error() + "\n")
	// Output:
	// query:1:9: unknown function matchs
	//     | where matchs(caller, "x")
	//             ^^^^^^
	// help: did you mean matches?
}
