package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newManCmd is 'revertwatch man': the manual pages, made from the command
// tree itself (the same Use, Long, flags and Examples as --help), so
// that they cannot drift from the program.
func newManCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "man",
		Short: "Write the manual pages (roff), one per command",
		Long: `man writes a manual page for revertwatch and for each of its commands
(revertwatch.1, revertwatch-hunt.1, ...), made from the same text as
--help. Install them into a man1 directory, e.g.

  revertwatch man -o /usr/local/share/man/man1/`,
		Example: `  revertwatch man -o man/`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if output == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("-o/--output DIR is required")}
			}
			if err := os.MkdirAll(output, 0o755); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			n := 0
			var walk func(cmd *cobra.Command) error
			walk = func(cmd *cobra.Command) error {
				if cmd.Hidden || cmd.Name() == "help" {
					return nil
				}
				name := strings.ReplaceAll(cmd.CommandPath(), " ", "-") + ".1"
				if err := os.WriteFile(filepath.Join(output, name), manPage(cmd), 0o644); err != nil {
					return &exitError{code: exitUsage, err: err}
				}
				n++
				for _, sub := range cmd.Commands() {
					if err := walk(sub); err != nil {
						return err
					}
				}
				return nil
			}
			if err := walk(c.Root()); err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "wrote %d manual pages to %s\n", n, output)
			return nil
		},
	}
	registerOutput(cmd.Flags(), &output, "directory to write the pages into (created)")
	return cmd
}

// manPage renders one command's page in roff (man(7)).
func manPage(cmd *cobra.Command) []byte {
	var b bytes.Buffer
	title := strings.ToUpper(strings.ReplaceAll(cmd.CommandPath(), " ", "-"))
	fmt.Fprintf(&b, ".TH %s 1 \"\" \"revertwatch %s\" \"revertwatch manual\"\n", title, version)
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roff(strings.ReplaceAll(cmd.CommandPath(), " ", "-")), roff(cmd.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n", roff(cmd.UseLine()))
	if long := cmd.Long; long != "" {
		b.WriteString(".SH DESCRIPTION\n")
		b.WriteString(roffText(long))
	}
	var flags []*pflag.Flag
	collect := func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			flags = append(flags, f)
		}
	}
	cmd.NonInheritedFlags().VisitAll(collect)
	cmd.InheritedFlags().VisitAll(collect)
	if len(flags) > 0 {
		b.WriteString(".SH OPTIONS\n")
		for _, f := range flags {
			name := "\\-\\-" + roff(f.Name)
			if f.Shorthand != "" {
				name = "\\-" + roff(f.Shorthand) + ", " + name
			}
			if t, _ := pflag.UnquoteUsage(f); t != "" {
				name += " " + roff(t)
			}
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", name, roffLine(f.Usage))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
				fmt.Fprintf(&b, "(default: %s)\n", roff(f.DefValue))
			}
		}
	}
	if cmd.Example != "" {
		b.WriteString(".SH EXAMPLES\n.nf\n")
		for _, l := range strings.Split(cmd.Example, "\n") {
			b.WriteString(roffLine(strings.TrimPrefix(l, "  ")) + "\n")
		}
		b.WriteString(".fi\n")
	}
	var see []string
	if p := cmd.Parent(); p != nil {
		see = append(see, strings.ReplaceAll(p.CommandPath(), " ", "-")+"(1)")
	}
	for _, sub := range cmd.Commands() {
		if !sub.Hidden && sub.Name() != "help" {
			see = append(see, strings.ReplaceAll(sub.CommandPath(), " ", "-")+"(1)")
		}
	}
	if len(see) > 0 {
		fmt.Fprintf(&b, ".SH SEE ALSO\n%s\n", roff(strings.Join(see, ", ")))
	}
	return b.Bytes()
}

// roff escapes text for roff: backslashes, hyphens, and characters
// outside ASCII as \[uXXXX].
func roff(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// roffLine escapes one line, guarding a leading dot or quote, which roff
// would read as a request.
func roffLine(s string) string {
	s = roff(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// roffText is paragraphs of text: blank lines become paragraph breaks,
// indented lines are kept as written.
func roffText(s string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		lines := strings.Split(para, "\n")
		indented := strings.HasPrefix(lines[0], "  ")
		if indented {
			b.WriteString(".PP\n.nf\n")
		} else {
			b.WriteString(".PP\n")
		}
		for _, l := range lines {
			b.WriteString(roffLine(l) + "\n")
		}
		if indented {
			b.WriteString(".fi\n")
		}
	}
	return b.String()
}
