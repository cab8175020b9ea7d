package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/internal/doctor"
)

// errChecksFailed is returned when doctor, scan or selftest sensors found
// a failure: the exit status is then 5.
var errChecksFailed = errors.New("a check failed")

// refusedError is a refusal of podctl's own (scan while podd runs): exit
// status 3, as the pod's refusals.
type refusedError struct{ err error }

func (e refusedError) Error() string   { return e.err.Error() }
func (e refusedError) Unwrap() []error { return []error{e.err, api.ErrRefused} }

// defaultConfig is podd's own default configuration file.
const defaultConfig = "/etc/podd/pod.yaml"

// checker loads the configuration of --config as podd would (with the
// PODD_ variables of podctl's environment) and returns a Doctor for it on
// the real system. podd's API is asked on --socket when given (or
// PODCTL_SOCKET), else on the configuration's api.socket. A configuration
// that does not load is returned as its result line, with a nil Doctor.
func checker(cmd *cobra.Command, path string) (*doctor.Doctor, *api.Client, doctor.Result) {
	cfg, err := configs.Load(path, os.Environ())
	res := doctor.ConfigResult(path, cfg, err)
	if err != nil {
		return nil, nil, res
	}
	socket := cfg.API.Socket
	if f := cmd.Flags().Lookup("socket"); f != nil && (f.Changed || os.Getenv("PODCTL_SOCKET") != "") {
		socket = f.Value.String()
		cfg.API.Socket = socket
	}
	c := api.NewClient(socket)
	return &doctor.Doctor{Config: cfg, System: doctor.OS(), Pod: c, OpenHardware: func() (doctor.Hardware, error) { return doctor.Open(cfg) }}, c, res
}

// printResults prints results as JSON (--json: the list) or as one line
// each, "PASS  check  detail", with the fix under a failure or a warning.
// It returns errChecksFailed when any failed.
func printResults(cmd *cobra.Command, out io.Writer, rs []doctor.Result) error {
	if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
		if err := printJSON(out, rs); err != nil {
			return err
		}
	} else {
		fmt.Fprint(out, formatResults(rs))
	}
	if doctor.Failed(rs) {
		return errChecksFailed
	}
	return nil
}

// formatResults is one line per result, the checks' names aligned.
func formatResults(rs []doctor.Result) string {
	width := 0
	for _, r := range rs {
		width = max(width, len(r.Check))
	}
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%-4s  %-*s  %s\n", strings.ToUpper(string(r.Verdict)), width, r.Check, r.Detail)
		if r.Fix != "" && (r.Verdict == doctor.Fail || r.Verdict == doctor.Warn) {
			fmt.Fprintf(&b, "%-4s  %-*s  fix: %s\n", "", width, "", r.Fix)
		}
	}
	return b.String()
}
