package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/controller"
	"github.com/sleegation/podd/internal/doctor"
)

// selfTestPoll is how often podctl reads podd's status while a lights or
// haptics self-test plays.
const selfTestPoll = 500 * time.Millisecond

// selfTestOutputs runs podctl selftest lights|haptics: podd plays the
// sequence (POST /v1/selftest), podctl says what plays, follows the test
// in podd's status until it ends (at most its length and 10 s more), and
// gives a line for each zone or place: whether its device took every
// frame (the show's outcome, controller.SelfTestOutcome), and one more
// when the test was cut short. Whether each light shone or each motor ran
// is for the technician who watched. It returns errChecksFailed when an
// output's device failed or the test was cut short.
func selfTestOutputs(cmd *cobra.Command, out io.Writer, socket, what string, poll time.Duration) error {
	asJSON, _ := cmd.Flags().GetBool("json")
	c := api.NewClient(socket)
	defer c.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	reply, err := c.SelfTest(ctx, what)
	cancel()
	if err != nil {
		err = explainDialError(socket, err)
		if asJSON && errors.Is(err, api.ErrRefused) {
			if perr := printJSON(out, reply); perr != nil {
				return perr
			}
		}
		return err
	}
	if reply.SelfTest == nil {
		return fmt.Errorf("podd's %s self-test: an empty reply", what)
	}
	if !asJSON {
		fmt.Fprint(out, formatSelfTest(reply))
	}
	o, err := followSelfTest(cmd.Context(), c, what, reply.SelfTest.Takes+10*time.Second, poll)
	if err != nil {
		return fmt.Errorf("following the %s self-test: %w", what, explainDialError(socket, err))
	}
	return printResults(cmd, out, judgeSelfTest(o))
}

// followSelfTest reads podd's status every poll until the self-test it
// shows (the one just begun: podd refuses another while one plays) has
// ended, for at most within.
func followSelfTest(ctx context.Context, c *api.Client, what string, within, poll time.Duration) (*controller.SelfTestOutcome, error) {
	deadline := time.Now().Add(within)
	var started time.Time
	for {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := c.Status(sctx)
		cancel()
		if err != nil {
			return nil, err
		}
		if st.Show != nil && st.Show.LastSelfTest != nil && st.Show.LastSelfTest.What == what {
			o := st.Show.LastSelfTest
			if started.IsZero() {
				started = o.Started
			}
			if o.Started.Equal(started) && !o.Ended.IsZero() {
				return o, nil
			}
		}
		if !time.Now().Before(deadline) {
			return nil, fmt.Errorf("it did not end within %s", within)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// judgeSelfTest is a line for each output of a self-test's outcome and,
// when it was cut short, one for that.
func judgeSelfTest(o *controller.SelfTestOutcome) []doctor.Result {
	kind := "zone"
	if o.What == controller.SelfTestHaptics {
		kind = "place"
	}
	var rs []doctor.Result
	for _, x := range o.Outputs {
		check := kind + " " + x.Name
		if x.Error != "" {
			rs = append(rs, doctor.Result{Check: check, Verdict: doctor.Fail, Detail: "its device refused frames: " + x.Error,
				Fix: "podctl doctor checks its chip and bus (podd stopped: podctl scan lists what answers)"})
			continue
		}
		rs = append(rs, doctor.Result{Check: check, Verdict: doctor.Pass, Detail: fmt.Sprintf("its device took all %d frames of the test", o.Frames)})
	}
	if o.Why != "done" {
		rs = append(rs, doctor.Result{Check: "selftest " + o.What, Verdict: doctor.Fail, Detail: "cut short: " + o.Why,
			Fix: "run it again with the pod empty and its outputs open"})
	}
	return rs
}
