package query

import (
	"strings"
	"testing"

	"github.com/revertwatch/revertwatch/event"
)

// The conformance list of sumo-query.md §13, one table per heading.

func TestConformanceScope(t *testing.T) {
	evs := []*event.Event{
		msg(`{"n":1} error in Login`, "cat=Prod/Azure/ActivityLog"),
		msg(`{"n":2} login ok`, "cat=aws/cloudtrail/us-east-1"),
		msg(`{"n":3} user logged in`, "cat=azure/activity-log"),
		msg(`{"n":4} errors everywhere`, "cat=Labs/Apache"),
		msg(`{"n":5} prod/azure* literal`, "cat=prod/azure*"),
	}
	cases := []struct{ name, q, want string }{
		{"glob, case-insensitive", `_sourceCategory=*AZURE*activitylog* | json auto | fields n`, `[1]`},
		{"hyphen breaks the seed glob", `_sourceCategory=*azure*activitylog* OR _sourceCategory=*aws*cloudtrail* | json auto | fields n`, `[1 2]`},
		{"? is one character", `_sourceCategory=aws/cloudtrail/us-east-? | json auto | fields n`, `[2]`},
		{"quoted value is a literal", `_sourceCategory="PROD/AZURE*" | json auto | fields n`, `[5]`},
		{"keyword is a whole token", `error | json auto | fields n`, `[1]`},
		{"keyword * covers part of a token", `error* | json auto | fields n`, `[1 4]`},
		{"keyword case-insensitive", `LOGIN | json auto | fields n`, `[1 2]`},
		{"quoted phrase", `"logged   in" | json auto | fields n`, `[3]`},
		{"NOT binds tighter than AND, AND tighter than OR", `login OR error AND NOT login | json auto | fields n`, `[1 2]`},
		{"parentheses", `(login OR error*) AND NOT login | json auto | fields n`, `[4]`},
		{"juxtaposition is AND", `error login | json auto | fields n`, `[1]`},
		{"! is NOT", `!login | json auto | fields n`, `[3 4 5]`},
		{"Labs/* is a term, not a comment", `_sourceCategory=Labs/* | json auto | fields n`, `[4]`},
		{"* is every message", `* | json auto | fields n`, `[1 2 3 4 5]`},
		{"empty scope", `| json auto | fields n`, `[1 2 3 4 5]`},
		{"missing metadata never matches", `_collector=* | json auto | fields n`, `[]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, c.q, column(t, c.q, "n", evs...), c.want)
		})
	}
}

// column runs q and lists one column of the output.
func column(t *testing.T, q, col string, evs ...*event.Event) string {
	t.Helper()
	p, err := Compile(q, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	res := p.RunEvents(evs)
	ci := -1
	for i, c := range res.Columns {
		if c == col {
			ci = i
		}
	}
	var out []string
	for _, row := range res.Rows {
		if ci < 0 {
			out = append(out, "?")
			continue
		}
		s := row[ci].String()
		if row[ci].IsNull() {
			s = "null"
		}
		out = append(out, s)
	}
	return "[" + strings.Join(out, " ") + "]"
}

func TestConformanceJSONAuto(t *testing.T) {
	rec := `{"properties":{"resourceGroup":"rg1","deep":{"x":1}},"tags":["a","b"],"items":[{"id":"i-1"},{"id":"i-2"}],"display name":"D","Caller":"c@x","n":2.5,"ok":true,"nil":null}`
	cases := []struct{ name, q, want string }{
		{"nested dotted names", `| json auto | fields properties.resourceGroup, properties.deep.x`, `{"properties.resourceGroup":"rg1","properties.deep.x":1}`},
		{"a parent object is not a field", `| json auto | where isNull(properties) | fields n`, `{"n":2.5}`},
		{"flat array stays JSON text", `| json auto | fields tags`, `{"tags":"[\"a\",\"b\"]"}`},
		{"extractarrays", `| json auto extractarrays | fields %"tags[0]", %"tags[1]"`, `{"tags[0]":"a","tags[1]":"b"}`},
		{"array of objects is extracted", `| json auto | fields %"items[1].id"`, `{"items[1].id":"i-2"}`},
		{"spaces become _", `| json auto | fields display_name`, `{"display_name":"D"}`},
		{"key case: lookup ignores case", `| json auto | fields caller`, `{"caller":"c@x"}`},
		{"types kept", `| json auto | n * 2 as d | fields d, ok`, `{"d":5,"ok":true}`},
		{"null is absent", `| json auto | where isNull(nil) | fields n`, `{"n":2.5}`},
		{"maxdepth", `| json auto maxdepth 1 | fields properties`, `{"properties":"{\"resourceGroup\":\"rg1\",\"deep\":{\"x\":1}}"}`},
		{"keys", `| json auto keys "n", "Caller" as num, who | fields num, who`, `{"num":2.5,"who":"c@x"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, c.q, run(t, c.q, msg(rec)), c.want)
		})
	}
	t.Run("prefix text before the JSON", func(t *testing.T) {
		got := run(t, `| json auto | fields a`, msg(`2024-01-01 INFO payload={"a":"x"} done`))
		check(t, "prefix", got, `{"a":"x"}`)
	})
	t.Run("the last JSON object wins", func(t *testing.T) {
		got := run(t, `| json auto | fields a`, msg(`first {"a":"x"} then {"a":"y"}`))
		check(t, "last", got, `{"a":"y"}`)
	})
	t.Run("a non-JSON line is kept", func(t *testing.T) {
		got := run(t, `| json auto | count`, msg(`plain text`), msg(`{"a":1}`))
		check(t, "kept", got, `{"_count":2}`)
	})
	t.Run("json auto field=", func(t *testing.T) {
		got := run(t, `| json auto | json auto field=inner | fields k`, msg(`{"inner":"{\"k\":\"v\"}"}`))
		check(t, "field=", got, `{"k":"v"}`)
	})
	t.Run("later json auto overwrites, assignments overwrite json", func(t *testing.T) {
		got := run(t, `| "one" as a | json auto | fields a`, msg(`{"a":"two"}`))
		check(t, "json over assign", got, `{"a":"two"}`)
		got = run(t, `| json auto | "one" as a | fields a`, msg(`{"a":"two"}`))
		check(t, "assign over json", got, `{"a":"one"}`)
	})
	t.Run("metadata is never overwritten", func(t *testing.T) {
		got := run(t, `| json auto | fields _sourceHost`, msg(`{"_sourceHost":"evil"}`, "host=real"))
		check(t, "meta", got, `{"_sourceHost":"real"}`)
	})
	t.Run("explicit json path", func(t *testing.T) {
		got := run(t, `| json "properties.resourceGroup", "items[*].id" as rg, ids | fields rg, ids`, msg(rec))
		check(t, "path", got, `{"rg":"rg1","ids":["i-1","i-2"]}`)
		got = run(t, `| json "Properties.resourceGroup" as rg | count`, msg(rec))
		check(t, "path keys are case-sensitive (dropped)", got, `{"_count":0}`)
		got = run(t, `| json "missing" as m nodrop | count`, msg(rec))
		check(t, "path nodrop", got, `{"_count":1}`)
	})
}

func TestConformanceRegexGlob(t *testing.T) {
	ev := msg(`{"op":"Microsoft.Compute/SNAPSHOTS/write","url":"/api/schedule?id=1","x":"abc"}`)
	cases := []struct{ name, q, want string }{
		{"matches() is an unanchored search", `| json auto | matches(op, "(?i)snapshot|nothing") as m | fields m`, `{"m":true}`},
		{"matches() honours case without (?i)", `| json auto | matches(op, "snapshot") as m | fields m`, `{"m":false}`},
		{"matches() takes a /regex/", `| json auto | match(op, /write$/) as m | fields m`, `{"m":true}`},
		{"infix glob is anchored", `| json auto | op matches "Microsoft*" as a, op matches "Compute*" as b | fields a`, ``},
		{"glob anchored true", `| json auto | op matches "Microsoft*" as a | fields a`, `{"a":true}`},
		{"glob anchored false", `| json auto | op matches "Compute*" as a | fields a`, `{"a":false}`},
		{"glob is case-sensitive", `| json auto | op matches "microsoft*" as a | fields a`, `{"a":false}`},
		{"? is literal in a glob", `| json auto | url matches "*/schedule?*" as a, x matches "ab?" as b | fields a, b`, ``},
		{"? literal true", `| json auto | url matches "*/schedule?*" as a | fields a`, `{"a":true}`},
		{"? literal false", `| json auto | x matches "ab?" as b | fields b`, `{"b":false}`},
		{"infix /regex/ is anchored", `| json auto | x matches /b/ as a | fields a`, `{"a":false}`},
		{"infix /regex/ whole value", `| json auto | x matches /a.c/ as a | fields a`, `{"a":true}`},
		{"not matches", `| json auto | where x not matches "z*" | fields x`, `{"x":"abc"}`},
		{"pattern held in a field", `| json auto | "a*" as p | x matches p as a | fields a`, `{"a":true}`},
	}
	for _, c := range cases {
		if c.want == "" {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			check(t, c.q, run(t, c.q, ev), c.want)
		})
	}
	t.Run("invalid regex is a compile error with line:col", func(t *testing.T) {
		got := compileErr(t, DefaultOptions(), "| json auto\n| where matches(op, \"(?i)(snap\")")
		want := "query:2:21: invalid regular expression: missing closing ): `(?i)(snap`\n    | where matches(op, \"(?i)(snap\")\n                        ^^^^^^^^^^^\nhelp: RE2 syntax; lookarounds and backreferences are not supported"
		check(t, "error", got, want)
	})
}

func TestConformanceThreeValued(t *testing.T) {
	// t: true, f: false, n: absent (Null).
	ev := msg(`{"t":true,"f":false}`)
	cases := []struct{ expr, want string }{
		{"t and t", "true"}, {"t and f", "false"}, {"t and n", "null"},
		{"f and t", "false"}, {"f and f", "false"}, {"f and n", "false"},
		{"n and t", "null"}, {"n and f", "false"}, {"n and n", "null"},
		{"t or t", "true"}, {"t or f", "true"}, {"t or n", "true"},
		{"f or t", "true"}, {"f or f", "false"}, {"f or n", "null"},
		{"n or t", "true"}, {"n or f", "null"}, {"n or n", "null"},
		{"!t", "false"}, {"!f", "true"}, {"!n", "null"},
		{`n = "x"`, "null"}, {`n != "x"`, "null"}, {`n in ("x")`, "null"},
		{`n contains "x"`, "null"}, {`n matches "*"`, "null"},
		{`matches(n, "x")`, "null"}, {`!matches(n, "x")`, "null"},
		{`if(n, "a", "b")`, `"b"`}, {`n ? "a" : "b"`, `"b"`}, {`n + 1`, "null"},
		{`isNull(n)`, "true"}, {`isEmpty(n)`, "true"}, {`isBlank(n)`, "true"},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			got := run(t, `| json auto | `+c.expr+` as r | fields r`, ev)
			want := `{"r":` + c.want + `}`
			if c.want == "null" {
				want = `{}` // assigning Null removes the field
			}
			check(t, c.expr, got, want)
		})
	}
	t.Run("where keeps only true", func(t *testing.T) {
		got := run(t, `| json auto | where caller != "azure-backup" | count`,
			msg(`{"caller":"alice"}`), msg(`{"caller":"azure-backup"}`), msg(`{"other":1}`))
		check(t, "where", got, `{"_count":1}`)
	})
}

func TestConformanceAggregation(t *testing.T) {
	evs := []*event.Event{
		msg(`{"k":"b","v":"x","n":1}`), msg(`{"k":"a","v":"Y","n":2}`), msg(`{"k":"a","v":"y","n":3}`),
		msg(`{"k":"a","v":"Y"}`), msg(`{"v":"z","n":5}`), msg(`{"k":"b","v":"10","n":"7"}`),
	}
	cases := []struct{ name, q, want string }{
		{"column order: keys then aggregates", `| json auto | count, values(v) as vs by k`,
			`{"k":"a","_count":3,"vs":["Y","y"]}` + "\n" + `{"k":"b","_count":2,"vs":["10","x"]}` + "\n" + `{"k":null,"_count":1,"vs":["z"]}`},
		{"default names", `| json auto | count, count_distinct(v), sum(n), avg(n), min(n), max(n)`,
			`{"_count":6,"_count_distinct":5,"_sum":18,"_avg":3.6,"_min":1,"_max":7}`},
		{"count vs count(x)", `| json auto | count as all, count(n) as withN`, `{"all":6,"withN":5}`},
		{"values: distinct, byte order", `| json auto | values(v) as vs`, `{"vs":["10","Y","x","y","z"]}`},
		{"group by / group", `| json auto | count group by k | sort by k asc`, `{"k":"a","_count":3}` + "\n" + `{"k":"b","_count":2}` + "\n" + `{"k":null,"_count":1}`},
		{"count x shorthand", `| json auto | count k | limit 1`, `{"k":"a","_count":3}`},
		{"first and last: newest first", `| json auto | first(n) as f, last(n) as l`, `{"f":1,"l":"7"}`},
		{"empty input, no group: one row", `| json auto | where false | count`, `{"_count":0}`},
		{"top", `| json auto | top 1 k`, `{"k":"a","_count":3}`},
		{"rows after an aggregation", `| json auto | count by k | where _count > 1 | _count * 10 as big | fields k, big`,
			`{"k":"a","big":30,"_count":3}` + "\n" + `{"k":"b","big":20,"_count":2}`}, // fields keeps _ fields
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, c.q, run(t, c.q, evs...), c.want)
		})
	}
	t.Run("values cap keeps the smallest", func(t *testing.T) {
		var many []*event.Event
		for i := 0; i < 150; i++ {
			many = append(many, msg(`{"v":"v`+string(rune('A'+i%26))+itoa(i)+`"}`))
		}
		p, err := Compile(`| json auto | values(v) as vs`, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		res := p.RunEvents(many)
		if n := len(res.Rows[0][0].Items()); n != 100 {
			t.Errorf("cap: %d values", n)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "truncated") {
			t.Errorf("warnings: %v", res.Warnings)
		}
	})
	t.Run("alias required", func(t *testing.T) {
		got := compileErr(t, DefaultOptions(), `| count, count(x)`)
		check(t, "alias", got, "query:1:10: alias required: count gives a second column named _count\n    | count, count(x)\n             ^^^^^^^^\nhelp: add as <name> to one of them")
	})
	t.Run("aggregates take fields", func(t *testing.T) {
		got := compileErr(t, DefaultOptions(), `| sum(a + b)`)
		if !strings.Contains(got, "aggregates take a field") || !strings.Contains(got, "help: compute it first") {
			t.Errorf("got %s", got)
		}
	})
}

func TestConformanceSort(t *testing.T) {
	evs := []*event.Event{
		msg(`{"id":1,"n":5,"s":"b"}`), msg(`{"id":2,"n":10,"s":"B"}`), msg(`{"id":3,"s":"a"}`),
		msg(`{"id":4,"n":5,"s":"c"}`), msg(`{"id":5,"n":"x","s":"10"}`),
	}
	cases := []struct{ name, q, want string }{
		{"default descending, stable ties, null last", `| json auto | sort by n | fields id`, `[5 2 1 4 3]`},
		{"asc", `| json auto | sort by n asc | fields id`, `[1 4 2 5 3]`},
		{"+ is ascending", `| json auto | sort + n | fields id`, `[1 4 2 5 3]`},
		{"- is descending", `| json auto | sort - n | fields id`, `[5 2 1 4 3]`},
		{"strings byte-wise", `| json auto | sort by s asc | fields id`, `[5 2 3 1 4]`},
		{"numbers numerically", `| json auto | where id < 3 | sort by n | fields id`, `[2 1]`},
		{"several keys", `| json auto | sort by n asc, s desc | fields id`, `[4 1 2 5 3]`},
		{"order is a synonym", `| json auto | order by id asc | limit 2 | fields id`, `[1 2]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, c.q, column(t, c.q, "id", evs...), c.want)
		})
	}
}

func TestConformanceNodrop(t *testing.T) {
	evs := []*event.Event{msg(`a=1`), msg(`b=2`), msg(`a=3 b=4`), msg(`c=5`), msg(`d=6`)}
	cases := []struct{ name, q, want string }{
		{"a | b keeps a AND b", `| parse "a=*" as a | parse "b=*" as b | count`, `{"_count":1}`},
		{"a nodrop | b keeps a OR b", `| parse "a=*" as a nodrop | parse "b=*" as b | count`, `{"_count":3}`},
		{"a nodrop | b nodrop | c nodrop | d keeps any", `| parse "a=*" as a nodrop | parse "b=*" as b nodrop | parse "c=*" as c nodrop | parse "d=*" as d | count`, `{"_count":5}`},
		{"a nodrop keeps everything", `| parse "a=*" as a nodrop | count`, `{"_count":5}`},
		{"regex, with nodrop", `| parse regex "b=(?<b>\d+)" nodrop | count`, `{"_count":5}`},
		{"regex without nodrop", `| parse regex "b=(?<b>\d+)" | count`, `{"_count":2}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, c.q, run(t, c.q, evs...), c.want)
		})
	}
	t.Run("anchor captures the shortest text", func(t *testing.T) {
		got := run(t, `| parse "user=*:" as u | fields u`, msg(`x user=bob:admin:y`))
		check(t, "anchor", got, `{"u":"bob"}`)
	})
	t.Run("multi", func(t *testing.T) {
		got := run(t, `| parse regex "id=(?<id>\w+)" multi | fields id`, msg(`id=a id=b id=c`))
		check(t, "multi", got, `{"id":"a"}`+"\n"+`{"id":"b"}`+"\n"+`{"id":"c"}`)
	})
	t.Run("regex needs named groups", func(t *testing.T) {
		got := compileErr(t, DefaultOptions(), `| parse regex "(a|b)=(?<v>\d)"`)
		if !strings.Contains(got, "unnamed capturing group") || !strings.Contains(got, "use (?:…)") {
			t.Errorf("got %s", got)
		}
	})
}

func TestConformanceEval(t *testing.T) {
	ev := msg(`{"a":2,"gone":"x"}`)
	t.Run("multi-assignment sees earlier targets", func(t *testing.T) {
		got := run(t, `| json auto | eval b = a * 2, c = b + 1 | fields b, c`, ev)
		check(t, "eval", got, `{"b":4,"c":5}`)
	})
	t.Run("assigning Null removes the field", func(t *testing.T) {
		got := run(t, `| json auto | eval gone = missing | fields a, gone`, ev)
		check(t, "remove", got, `{"a":2}`)
		got = run(t, `| json auto | eval gone = missing | where isNull(gone) | count`, ev)
		check(t, "removed is null", got, `{"_count":1}`)
	})
	t.Run("bare conversion writes back", func(t *testing.T) {
		got := run(t, `| json auto | "4" as s | num(s) | s + 1 as t | fields t`, ev)
		check(t, "num", got, `{"t":5}`)
	})
	t.Run("other bare expressions need as", func(t *testing.T) {
		got := compileErr(t, DefaultOptions(), `| a + 1`)
		check(t, "missing as", got, "query:1:3: missing as <field>: an expression stage must name its result\n    | a + 1\n      ^^^^^\nhelp: write a + 1 as <field>")
	})
}

func TestConformanceFunctions(t *testing.T) {
	ev := msg(`{"s":"Hello World","n":"42","e":"","b":"  ","x":3}`)
	cases := []struct{ expr, want string }{
		{`toLowerCase(s)`, `"hello world"`}, {`toUpperCase(s)`, `"HELLO WORLD"`},
		{`num(n) + 1`, `43`}, {`toLong("3.9")`, `3`}, {`toString(x)`, `"3"`},
		{`concat(s, "!", missing)`, `"Hello World!"`}, {`length(s)`, `11`},
		{`substring(s, 0, 5)`, `"Hello"`}, {`substring(s, 6)`, `"World"`},
		{`contains(s, "World")`, `true`}, {`s contains "world"`, `false`},
		{`e contains ""`, `true`}, {`s contains ""`, `false`},
		{`isEmpty(e)`, `true`}, {`isEmpty(b)`, `false`}, {`isBlank(b)`, `true`},
		{`n in (4, 42, 5)`, `true`}, {`n not in ("4")`, `true`}, {`x = "3"`, `true`}, {`x < 10`, `true`},
		{`"b" > "B"`, `true`}, {`if(x > 2, "big", "small")`, `"big"`}, {`x > 2 ? "y" : "n"`, `"y"`},
		{`7 % 4`, `3`}, {`1 / 4`, `0.25`}, {`-x`, `-3`}, {`"abc" + 1`, `null`}, {`1 / 0`, `null`},
		{`10k`, `10000`}, {`1m`, `60000`}, {`"a\\b\n"`, `"a\\b\n"`},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			got := run(t, `| json auto | `+c.expr+` as r | fields r`, ev)
			want := `{"r":` + c.want + `}`
			if c.want == "null" {
				want = `{}`
			}
			check(t, c.expr, got, want)
		})
	}
}

func TestContainsFoldASCII(t *testing.T) {
	cases := []struct {
		s, n string
		want bool
	}{
		{`{"OperationName":"x"}`, "operationname", true},
		{`{"OPERATIONNAME":"x"}`, "operationname", true},
		{`{"eventName":"x"}`, "operationname", false},
		{`pppp operationnam`, "operationname", false},
		{`ab`, "abc", false},
		{`xcaller`, "caller", true},
	}
	for _, c := range cases {
		if got := containsFoldASCII(c.s, c.n); got != c.want {
			t.Errorf("containsFoldASCII(%q, %q) = %v", c.s, c.n, got)
		}
	}
}

func TestStagesMore(t *testing.T) {
	evs := []*event.Event{msg(`{"k":"a"}`, "t=0"), msg(`{"k":"b"}`, "t=61"), msg(`{"k":"a"}`, "t=125"), msg(`{"k":"a"}`, "t=130")}
	cases := []struct{ name, q, want string }{
		{"timeslice", `| json auto | timeslice 1m | count by _timeslice`,
			`{"_timeslice":1699999980000,"_count":1}` + "\n" + `{"_timeslice":1700000040000,"_count":1}` + "\n" + `{"_timeslice":1700000100000,"_count":2}`},
		{"timeslice as", `| json auto | timeslice 1h as hour | count by hour`, `{"hour":1699999200000,"_count":4}`},
		{"timeslice buckets", `| json auto | timeslice 2 buckets | count by _timeslice`, `{"_timeslice":1699999800000,"_count":2}` + "\n" + `{"_timeslice":1700000100000,"_count":2}`}, // 130 s / 2 → 5 m buckets
		{"top", `| json auto | top 1 k`, `{"k":"a","_count":3}`},
		{"fields -", `| json auto | count by k | fields - _count`, `{"k":"a"}` + "\n" + `{"k":"b"}`},
		{"limit on aggregate rows", `| json auto | count by k | limit 1`, `{"k":"a","_count":3}`},
		{"sort then first", `| json auto | sort by k asc | first(k) as f, last(k) as l`, `{"f":"a","l":"b"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check(t, c.q, run(t, c.q, evs...), c.want)
		})
	}
}

func TestAliasUse(t *testing.T) {
	ev := msg(`{"eventName":"TerminateInstances"}`)
	ev.OperationName = "TerminateInstances"
	ev2 := msg(`{"operationName":"x/delete"}`)
	ev2.OperationName = "x/delete"
	p, err := Compile(`| json auto | count by operationName`, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	res := p.RunEvents([]*event.Event{ev, ev2})
	if len(res.AliasUse) != 1 || res.AliasUse[0] != (AliasUse{Name: "operationName", Count: 1}) {
		t.Errorf("alias use: %+v", res.AliasUse)
	}
	opts := DefaultOptions()
	opts.NoSeedAliases = true
	got := runQ(t, opts, `| json auto | count by operationName`, ev, ev2)
	check(t, "no aliases", got, `{"operationName":"x/delete","_count":1}`+"\n"+`{"operationName":null,"_count":1}`)
}
