package configs

import "slices"

// Keys returns every configuration key by its dotted name
// (telemetry.interval), in the order configs/doc.go describes them. Each
// is overridden by the variable EnvName(key).
func Keys() []string {
	ks := keys()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	return names
}

// maxSuggestDistance bounds how far a mistyped name may be from the name
// suggested for it: a quarter of its length (a typo every four
// characters), at least 1 and at most 3 edits.
func maxSuggestDistance(name string) int {
	return min(max(len([]rune(name))/4, 1), 3)
}

// suggest returns the name of known nearest to name by editDistance, or ""
// when none is within maxSuggestDistance(name). Ties go to the first in
// known's order.
func suggest(name string, known []string) string {
	best, bestD := "", maxSuggestDistance(name)+1
	for _, k := range known {
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// didYouMean is a problem line's suggestion: "; did you mean NAME?", or
// "" with none.
func didYouMean(name string, known []string) string {
	if s := suggest(name, known); s != "" {
		return "; did you mean " + s + "?"
	}
	return ""
}

// editDistance is the optimal string alignment distance (restricted
// Damerau-Levenshtein) between a and b, counted in runes: the fewest
// insertions, deletions, substitutions and transpositions of two adjacent
// runes that turn a into b, no substring edited twice. It is symmetric and
// 0 only for equal strings. O(len(a)·len(b)) time, three rows of memory.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) < len(rb) {
		ra, rb = rb, ra
	}
	prev2 := make([]int, len(rb)+1) // row i-2
	prev := make([]int, len(rb)+1)  // row i-1
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// envNames are the variables of keys, in the same order.
func envNames(keys []string) []string {
	return slices.Collect(func(yield func(string) bool) {
		for _, k := range keys {
			if !yield(EnvName(k)) {
				return
			}
		}
	})
}
