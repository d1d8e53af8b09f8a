package tune

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/revertwatch/revertwatch/level"
	"go.yaml.in/yaml/v3"
)

// Engine and tuning defaults, used when the config file does not set them.
const (
	DefaultLateness     = 15 * time.Minute // telemetry.md §6: CloudTrail arrives 5–15 min late
	DefaultWindow       = 24 * time.Hour   // a revert sequence must complete within this
	DefaultRepeatWindow = 24 * time.Hour   // the same finding id is reported once per this
	maxDuration         = 366 * 24 * time.Hour
	maxConfigBytes      = 8 << 20
	expirySoon          = 14 * 24 * time.Hour
)

// Action is what an allow entry does to a finding it matches.
type Action uint8

// The actions. Keep is the decision when no entry matched.
const (
	Keep      Action = iota // emitted unchanged by any allow entry
	Downgrade               // emitted, marked suppressed, severity lowered
	Drop                    // not emitted; counted per entry in the summary
)

var actionNames = [...]string{"keep", "downgrade", "drop"}

// String returns the action's name as written in the config.
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText encodes the action by name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Config is a loaded tuning config: engine settings and allow entries, with
// the built-in benign actors. The zero value is not useful; use Default,
// Parse or Load. A nil *Config behaves like Default() for Apply, so a
// command can call it whether or not a config was given.
//
// Apply and Summary are safe for concurrent use.
type Config struct {
	// File is the path the config was read from ("" for Default).
	File string
	// Lateness is how long the sequence engine waits for late events.
	Lateness time.Duration
	// Window is the default time a revert sequence has to complete.
	Window time.Duration
	// RepeatWindow is how long repeats of one finding id are held back
	// (0: report every repeat).
	RepeatWindow time.Duration
	// Entries are the allow entries in file order; the first that matches
	// a finding decides.
	Entries []*Entry
	// Warnings are diagnostics that did not stop the config from loading,
	// such as expired entries. Print them.
	Warnings Diagnostics
	// Now is the wall clock that expiry is measured against; time.Now
	// unless set with WithClock.
	Now func() time.Time

	set     map[string]bool
	benign  *BenignSet
	benignN []atomic.Int64 // per built-in actor: findings recognised
}

// Entry is one allow entry.
type Entry struct {
	Name   string
	Reason string
	Owner  string
	// Expires is the first instant the entry no longer applies; zero for
	// an entry without expires. A date means the end of that day in UTC.
	Expires time.Time
	// Rules are the rule id patterns the entry is limited to (empty: all).
	Rules           []string
	Action          Action
	Severity        level.Level // the severity a downgrade lowers to
	SingleAttribute bool
	Match           *Match
	// Line and Column locate the entry in the file.
	Line, Column int

	rules      globs
	downgraded atomic.Int64
	dropped    atomic.Int64
}

// Expired reports whether the entry has expired at now.
func (e *Entry) Expired(now time.Time) bool {
	return !e.Expires.IsZero() && !now.Before(e.Expires)
}

// ExpiresText prints the expiry as a person wrote it: the last day the
// entry applies (YYYY-MM-DD) for a date, else the RFC 3339 instant; "" for
// an entry that does not expire.
func (e *Entry) ExpiresText() string {
	if e.Expires.IsZero() {
		return ""
	}
	return expiryText(e.Expires)
}

// appliesToRule reports whether the entry covers rule id.
func (e *Entry) appliesToRule(id string) bool {
	return len(e.rules) == 0 || e.rules.match(id)
}

// Option adjusts how a config is read.
type Option func(*Config)

// WithClock sets the wall clock used for expiry, both when the config is
// read (for warnings) and when entries are applied.
func WithClock(now func() time.Time) Option {
	return func(c *Config) {
		if now != nil {
			c.Now = now
		}
	}
}

// Default returns the config used when none is given: default engine
// settings, no allow entries, and the built-in benign actors.
func Default(opts ...Option) *Config {
	c := &Config{
		Lateness:     DefaultLateness,
		Window:       DefaultWindow,
		RepeatWindow: DefaultRepeatWindow,
		Now:          time.Now,
		set:          map[string]bool{},
		benign:       Builtin(),
	}
	c.benignN = make([]atomic.Int64, len(c.benign.Actors))
	for _, o := range opts {
		o(c)
	}
	return c
}

// Load reads and checks the config file at path. When the file is invalid
// the error is a Diagnostics listing every problem with its line and
// column; other errors (a missing file) are wrapped with the path.
func Load(path string, opts ...Option) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("config %s: larger than %d MiB; is this the right file?", path, maxConfigBytes>>20)
	}
	return Parse(path, data, opts...)
}

// Parse checks a config held in memory; name is used in diagnostics. On
// success the returned config may carry Warnings. On failure the error is
// a Diagnostics holding the errors and the warnings, in file order.
func Parse(name string, data []byte, opts ...Option) (*Config, error) {
	c := Default(opts...)
	c.File = name
	d := &decoder{file: name}
	root := d.parseDocument(data)
	if root != nil {
		c.decode(d, root)
	}
	d.diags.sort()
	if d.failed() {
		return nil, d.diags
	}
	c.Warnings = d.diags
	return c, nil
}

// IsSet reports whether the file set an engine setting ("lateness",
// "window", "repeat_window"), so that a command-line flag left at its
// default does not override the file.
func (c *Config) IsSet(key string) bool { return c != nil && c.set[key] }

var topKeys = []string{"version", "lateness", "window", "repeat_window", "allow"}

func (c *Config) decode(d *decoder, root *yaml.Node) {
	fields := d.mapping(root, "config", topKeys)
	for _, f := range fields {
		switch f.key {
		case "version":
			if s, ok := d.scalar(f.v, "version"); ok && s != "1" {
				d.errorf(d.resolve(f.v), "version %q is not supported (this revertwatch reads version 1)", s)
			}
		case "lateness":
			c.Lateness, _ = d.duration(f.v, "lateness")
		case "window":
			var ok bool
			if c.Window, ok = d.duration(f.v, "window"); ok && c.Window == 0 {
				d.errorf(d.resolve(f.v), "window must be longer than 0: a revert sequence needs time to complete")
			}
		case "repeat_window":
			c.RepeatWindow, _ = d.duration(f.v, "repeat_window")
		case "allow":
			c.decodeEntries(d, f.v)
		}
		c.set[f.key] = true
	}
}

// duration reads a Go duration (15m, 1h30m) or a number of days (7d, or
// 1d12h). Negative and absurdly long durations are refused.
func (d *decoder) duration(n *yaml.Node, what string) (time.Duration, bool) {
	s, ok := d.scalar(n, what)
	if !ok {
		return 0, false
	}
	v, err := parseDuration(s)
	if err != nil {
		d.errorf(d.resolve(n), "bad duration for %s: %v", what, err)
		return 0, false
	}
	return v, true
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 366 {
			return 0, fmt.Errorf("%q: want a number with a unit, e.g. 15m, 24h, 7d", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: want a number with a unit, e.g. 15m, 24h, 7d", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	v += days
	if v > maxDuration {
		return 0, fmt.Errorf("%q is longer than a year", s)
	}
	return v, nil
}

var entryKeys = []string{"name", "reason", "owner", "expires", "rules", "single_attribute", "action", "severity", "match"}

func (c *Config) decodeEntries(d *decoder, n *yaml.Node) {
	names := map[string]int{}
	for _, item := range d.sequence(n, "allow") {
		e := c.decodeEntry(d, item)
		if e == nil {
			continue
		}
		if line, dup := names[e.Name]; dup {
			d.errorf(item, "allow entry name %q is already used at line %d; names must be unique (they appear in suppression reasons and the summary)", e.Name, line)
			continue
		}
		names[e.Name] = e.Line
		c.Entries = append(c.Entries, e)
	}
}

func (c *Config) decodeEntry(d *decoder, n *yaml.Node) *Entry {
	e := &Entry{Action: Downgrade, Severity: level.Low, Line: n.Line, Column: n.Column}
	var matchKey, matchNode, severityNode, expiresNode *yaml.Node
	var single bool
	before := d.diags.Errors()
	for _, f := range d.mapping(n, "allow entry", entryKeys) {
		switch f.key {
		case "name":
			if s, ok := d.scalar(f.v, "name"); ok {
				if err := checkName(s); err != nil {
					d.errorf(d.resolve(f.v), "name %q: %v", s, err)
				}
				e.Name = s
			}
		case "reason":
			if s, ok := d.scalar(f.v, "reason"); ok {
				e.Reason = strings.TrimSpace(s)
				if e.Reason == "" {
					d.errorf(d.resolve(f.v), "reason is empty; say why this activity is expected")
				}
			}
		case "owner":
			if s, ok := d.scalar(f.v, "owner"); ok {
				e.Owner = strings.TrimSpace(s)
			}
		case "expires":
			expiresNode = d.resolve(f.v)
			if s, ok := d.scalar(f.v, "expires"); ok {
				t, err := parseExpiry(s)
				if err != nil {
					d.errorf(expiresNode, "expires: %v", err)
				}
				e.Expires = t
			}
		case "rules":
			vals, nodes := d.scalars(f.v, "rules")
			for i, v := range vals {
				g, err := CompileGlob(v)
				if err != nil {
					d.errorf(nodes[i], "bad rule pattern %q: %v", v, err)
					continue
				}
				e.Rules = append(e.Rules, v)
				e.rules = append(e.rules, g)
			}
		case "single_attribute":
			single = d.boolean(f.v, "single_attribute")
			e.SingleAttribute = single
		case "action":
			if s, ok := d.scalar(f.v, "action"); ok {
				switch strings.ToLower(s) {
				case "downgrade":
					e.Action = Downgrade
				case "drop":
					e.Action = Drop
				default:
					d.errorf(d.resolve(f.v), "action %q: want downgrade (keep the finding, marked suppressed) or drop (do not emit it; counted in the summary)", s)
				}
			}
		case "severity":
			severityNode = d.resolve(f.v)
			if s, ok := d.scalar(f.v, "severity"); ok {
				if l, ok := level.ParseInput(s); ok && l <= level.Medium {
					e.Severity = l
				} else {
					d.errorf(severityNode, "severity %q: a downgrade lowers to %s, %s or %s", s, level.Info, level.Low, level.Medium)
				}
			}
		case "match":
			matchKey, matchNode = f.k, f.v
		}
	}
	if e.Name == "" {
		d.errorf(n, "allow entry has no name; give it one (it names the entry in suppression reasons and the summary)")
	}
	if e.Reason == "" && e.Name != "" && !hasKey(n, "reason") {
		d.errorf(n, "allow entry %q has no reason; say why this activity is expected", e.Name)
	}
	if e.Action == Drop && severityNode != nil {
		d.errorf(severityNode, "severity applies to action downgrade; a dropped finding is not emitted")
	}
	if matchNode == nil {
		if e.Name != "" {
			d.errorf(n, "allow entry %q has no match; an entry must say what it matches", e.Name)
		}
		return nil
	}
	m := decodeMatch(d, matchNode, c.benign)
	if m != nil {
		e.Match = m
		if err := m.checkStrength(single); err != nil {
			d.errorf(matchKey, "allow entry %q: %v", e.Name, err)
		}
	}
	if d.diags.Errors() > before {
		return nil
	}
	c.warnExpiry(d, e, expiresNode)
	return e
}

func hasKey(n *yaml.Node, key string) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (c *Config) warnExpiry(d *decoder, e *Entry, at *yaml.Node) {
	if e.Expires.IsZero() {
		return
	}
	now := c.clock()
	if e.Expired(now) {
		d.warnf(at, "allow entry %q expired on %s; it no longer applies (renew it or remove it)", e.Name, expiryText(e.Expires))
		return
	}
	if e.Expires.Sub(now) < expirySoon {
		last := e.Expires.Add(-time.Nanosecond).UTC().Truncate(24 * time.Hour)
		days := int(last.Sub(now.UTC().Truncate(24*time.Hour)).Hours() / 24)
		when := fmt.Sprintf("in %d day(s)", days)
		if days == 0 {
			when = "today"
		}
		d.warnf(at, "allow entry %q expires on %s, %s", e.Name, expiryText(e.Expires), when)
	}
}

// expiryText prints an expiry as written: a date when it is the end of a
// UTC day, else the instant.
func expiryText(t time.Time) string {
	if t.Location() == time.UTC && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Add(-time.Nanosecond).Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}

// parseExpiry reads a date (the entry applies through the end of that day,
// UTC) or an RFC 3339 time (it stops applying at that instant).
func parseExpiry(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD) or an RFC 3339 time", s)
}

func checkName(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("is empty")
	}
	if len(s) > 128 {
		return errors.New("is longer than 128 bytes")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errors.New("contains a control character")
		}
	}
	return nil
}
