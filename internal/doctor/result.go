package doctor

import "slices"

// Verdict is a check's outcome.
type Verdict string

// The verdicts. Only Fail fails a run: a warning is worth a look, a
// skipped check could not be made (and says why).
const (
	Pass Verdict = "pass"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
	Skip Verdict = "skip"
)

// Result is one check's line: what was checked, the verdict, what was
// found and, on a failure or a warning, the fix to try.
type Result struct {
	Check   string  `json:"check"`
	Verdict Verdict `json:"verdict"`
	Detail  string  `json:"detail"`
	Fix     string  `json:"fix,omitempty"`
}

// Failed reports whether any result is a failure.
func Failed(rs []Result) bool {
	return slices.ContainsFunc(rs, func(r Result) bool { return r.Verdict == Fail })
}

func pass(check, detail string) Result { return Result{Check: check, Verdict: Pass, Detail: detail} }
func skip(check, detail string) Result { return Result{Check: check, Verdict: Skip, Detail: detail} }
func warn(check, detail, fix string) Result {
	return Result{Check: check, Verdict: Warn, Detail: detail, Fix: fix}
}
func fail(check, detail, fix string) Result {
	return Result{Check: check, Verdict: Fail, Detail: detail, Fix: fix}
}
