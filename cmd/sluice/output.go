package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// addOutputFlag gives a command the -o flag every listing takes.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "table", "output format: table, json or yaml")
}

// isTerminal says whether w is a terminal, where progress may be
// rewritten in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// table writes aligned columns.
type table struct{ w *tabwriter.Writer }

func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = printable(fmt.Sprint(c))
	}
	fmt.Fprintln(t.w, strings.Join(parts, "\t"))
}

// printable escapes what a terminal would act on rather than show: control
// and format characters (an escape sequence, a carriage return, a tab that
// would break a table's columns, a bidi override) and bytes that are not
// UTF-8, written as Go writes them in a quoted string. Names and values
// from the store reach the terminal only through it.
func printable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, unprintable) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unprintable(r):
			quoted := strconv.QuoteRune(r)
			b.WriteString(quoted[1 : len(quoted)-1])
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func unprintable(r rune) bool { return !unicode.IsGraphic(r) }

// escapeJSON writes the characters a terminal would act on that
// encoding/json leaves as they are (DEL, C1 controls, format characters)
// as \u escapes. JSON has them only inside strings, where an escape means
// the same character, so the document is unchanged for a parser.
func escapeJSON(data []byte) []byte {
	if !bytes.ContainsFunc(data, escapedInJSON) {
		return data
	}
	var b bytes.Buffer
	for _, r := range string(data) {
		if !escapedInJSON(r) {
			b.WriteRune(r)
			continue
		}
		for _, unit := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&b, `\u%04x`, unit)
		}
	}
	return b.Bytes()
}

// escapedInJSON says r is escaped in JSON output: the line breaks between
// its values are not.
func escapedInJSON(r rune) bool { return unprintable(r) && r != '\n' }

// render writes value as indented JSON, as YAML with the same field names,
// or as a table drawn by fill.
func render(w io.Writer, output string, value any, fill func(*table)) error {
	switch output {
	case "json":
		data, err := json.MarshalIndent(value, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", escapeJSON(data))
		return err
	case "yaml":
		// The YAML encoder quotes a string that holds a control character
		// and escapes the character.
		data, err := yaml.Marshal(value)
		if err != nil {
			return fmt.Errorf("-o yaml: %w", err)
		}
		_, err = w.Write(data)
		return err
	case "table", "":
		t := &table{w: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
		fill(t)
		return t.w.Flush()
	default:
		return fmt.Errorf("-o %s: unknown output format (want table, json or yaml)", output)
	}
}
