// Package tune decides what happens to a finding after detection: built-in
// knowledge of benign cloud actors lowers its confidence, allowlist entries
// from the user's YAML config downgrade or drop it, and a repeat window
// reports the same finding id once per period of event time.
//
// The rules that keep tuning from becoming an off switch (anchors.md §7.5):
//
//   - an allow entry matches only when every attribute it names matches
//     every evidence event of the finding;
//   - an entry names at least two attributes unless it says
//     single_attribute: true, and an entry made only of attributes the
//     caller sets freely (user agent, request values, operation, time) is
//     refused;
//   - built-in benign actors never suppress by themselves;
//   - downgrade, the default action, keeps the finding (marked suppressed);
//     a drop is counted per entry so the summary accounts for it;
//   - an expired entry stops applying and is named in a warning.
package tune
