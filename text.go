package ginflix

import (
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// FoldText lowercases s and strips its diacritics, so that « Électricité »
// and « electricite » compare equal. Both stores search and sort on it.
func FoldText(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

// SearchWords splits folded text into the words search matches on: runs
// of letters and digits. Anything else (quotes, operators) separates words,
// so no user input can be read as query syntax by a store.
func SearchWords(s string) []string {
	words := strings.FieldsFunc(FoldText(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	seen := make(map[string]bool, len(words))
	out := words[:0]
	for _, w := range words {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// MaxSearchWords bounds the work one search can ask of a store.
const MaxSearchWords = 8
