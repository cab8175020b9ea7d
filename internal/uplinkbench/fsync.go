package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Passes this program runs in a child process under strace to count the
// fsyncs of rows 2 and 3. Timing under strace is not timing, so the timed
// rows run untraced.
const (
	passAppend  = "append"  // row 3: appends, no uplink running
	passDurable = "durable" // row 2: appends with the uplink delivering
)

// runPass is the child's side: the work of one pass on n records, nothing
// printed.
func runPass(ctx context.Context, b *bench, pass string, n int) error {
	pod := "bench-fsync-" + pass + "-" + strconv.Itoa(n)
	switch pass {
	case passAppend:
		s, _, _, err := b.appendOnly(pod, n, 0)
		if err != nil {
			return err
		}
		return s.Close()
	case passDurable:
		_, err := b.durable(ctx, pod, n, 100*time.Millisecond)
		return err
	}
	return fmt.Errorf("unknown pass %q", pass)
}

// fsyncCount is the fsync and fdatasync calls per record of one pass, or
// why it is not known.
type fsyncCount struct {
	perRecord float64
	reason    string // non-empty when not measured
}

func (f fsyncCount) String() string {
	if f.reason != "" {
		return "n/a"
	}
	return strconv.FormatFloat(f.perRecord, 'f', 2, 64)
}

// countFsyncs runs pass on n and on 3n records, each in a child process
// under strace, and returns the difference of their fsync counts over 2n:
// what opening, creating and closing the journal cost cancels out.
func countFsyncs(ctx context.Context, b *bench, pass string, n int) fsyncCount {
	strace, err := exec.LookPath("strace")
	if err != nil {
		return fsyncCount{reason: "strace not installed"}
	}
	self, err := os.Executable()
	if err != nil {
		return fsyncCount{reason: err.Error()}
	}
	small, err := tracedFsyncs(ctx, strace, self, b, pass, n)
	if err != nil {
		return fsyncCount{reason: err.Error()}
	}
	large, err := tracedFsyncs(ctx, strace, self, b, pass, 3*n)
	if err != nil {
		return fsyncCount{reason: err.Error()}
	}
	return fsyncCount{perRecord: float64(large-small) / float64(2*n)}
}

// tracedFsyncs runs one pass under strace -f -c and returns its fsync and
// fdatasync calls. --seccomp-bpf stops the child only at those calls; an
// strace without it traces every call, which is slower but counts the same.
func tracedFsyncs(ctx context.Context, strace, self string, b *bench, pass string, n int) (int, error) {
	out, err := os.CreateTemp(b.dir, "strace-*.txt")
	if err != nil {
		return 0, err
	}
	out.Close()
	defer os.Remove(out.Name())
	child := []string{self, "-pass", pass, "-n", strconv.Itoa(n), "-window", strconv.Itoa(b.window), "-broker", b.broker, "-dir", b.dir}
	var lastErr error
	for _, opts := range [][]string{{"--seccomp-bpf"}, nil} {
		args := append([]string{"-f", "-c", "-e", "trace=fsync,fdatasync", "-o", out.Name()}, opts...)
		cmd := exec.CommandContext(ctx, strace, append(args, child...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			lastErr = fmt.Errorf("strace %s: %w: %s", pass, err, lastLine(stderr.String()))
			continue
		}
		summary, err := os.ReadFile(out.Name())
		if err != nil {
			return 0, err
		}
		return parseStraceSummary(string(summary))
	}
	return 0, lastErr
}

// parseStraceSummary adds up the calls of fsync and fdatasync in strace -c
// output:
//
//	% time     seconds  usecs/call     calls    errors syscall
//	------ ----------- ----------- --------- --------- ----------------
//	 99.71    0.153123          37      4070           fdatasync
//	  0.29    0.000440          55         8           fsync
//
// A syscall never made has no line.
func parseStraceSummary(s string) (int, error) {
	total, seen := 0, false
	for line := range strings.Lines(s) {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if name := f[len(f)-1]; name != "fsync" && name != "fdatasync" {
			continue
		}
		calls, err := strconv.Atoi(f[3])
		if err != nil {
			return 0, fmt.Errorf("strace summary line %q: %w", strings.TrimSpace(line), err)
		}
		total += calls
		seen = true
	}
	if !seen && !strings.Contains(s, "syscall") {
		return 0, errors.New("no strace summary")
	}
	return total, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
