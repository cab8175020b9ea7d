// Command hubctl is the reference city hub on a command line, for the
// city's developers and for tests: it makes the hub's keys, signs and sends
// commands to a pod and prints its reply, sends merge-wide aborts, and
// follows pods.
//
//	hubctl keygen --kid K --private FILE --public FILE
//	hubctl send --broker URL --key FILE --pod POD merge-start --session S --dreamscape D --max 1h [--start RFC3339]
//	hubctl send ... merge-end --session S
//	hubctl send ... merge-abort [--session S] [--reason TEXT] [--unsigned]
//	hubctl send ... identify --for 10s
//	hubctl send ... telemetry-interval --every 5s
//	hubctl abort-merge --broker URL --session S
//	hubctl follow --broker URL --pod POD [--pod POD...] [--json] [--receipts] [--for D]
//
// While connected, hubctl publishes the hub's retained status
// (sleegation/v1/hub/status), online, and offline when it leaves. follow
// --receipts also publishes each pod's receipt (sleegation/v1/pods/{pod}/receipt):
// the hub that pods with uplink.require_hub wait for.
//
// Exit codes: 0 done (the pod accepted the command); 1 an error (flags,
// keys, the broker); 3 the pod refused the command; 4 no reply within
// --timeout, or the connection was lost.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sleegation/podd/hubclient"
	"github.com/sleegation/podd/hubcmd"
	"github.com/sleegation/podd/uplink"
)

// Exit codes.
const (
	exitError   = 1
	exitRefused = 3
	exitNoReply = 4
)

// exitErr carries an exit code other than exitError.
type exitErr struct {
	code int
	err  error
}

func (e *exitErr) Error() string { return e.err.Error() }
func (e *exitErr) Unwrap() error { return e.err }

func main() {
	if err := newRoot(os.Stdout).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hubctl:", err)
		var ee *exitErr
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(exitError)
	}
}

// conn are the flags of a connection to the broker.
type conn struct {
	broker, clientID, username, passwordFile string
	caFile, certFile, keyFile, serverName    string
}

// flags adds the connection's flags to cmd, to its persistent flags
// (inherited by its subcommands) when persistent.
func (c *conn) flags(cmd *cobra.Command, persistent bool) {
	f := cmd.Flags()
	if persistent {
		f = cmd.PersistentFlags()
	}
	f.StringVar(&c.broker, "broker", os.Getenv("HUBCTL_BROKER"), "the broker: tcp://host:port or ssl://host:port (HUBCTL_BROKER)")
	f.StringVar(&c.clientID, "client-id", "", "the MQTT client id (default hubctl- and random hex)")
	f.StringVar(&c.username, "username", "", "user name for the broker")
	f.StringVar(&c.passwordFile, "password-file", "", "a file holding the password for the broker (or HUBCTL_PASSWORD)")
	f.StringVar(&c.caFile, "tls-ca", "", "PEM file of the CAs that sign the broker's certificate (default: the system's roots)")
	f.StringVar(&c.certFile, "tls-cert", "", "PEM client certificate, for a broker that asks for one")
	f.StringVar(&c.keyFile, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&c.serverName, "tls-server-name", "", "the name the broker's certificate must carry (default: the broker's host)")
}

func (c *conn) connect() (*hubclient.Client, error) { return c.connectWith(hubclient.ConnectOptions{}) }

// connectWith connects with o's DeferOnline and timeouts, and the
// connection's flags for the rest.
func (c *conn) connectWith(o hubclient.ConnectOptions) (*hubclient.Client, error) {
	if c.broker == "" {
		return nil, errors.New("--broker is required")
	}
	o.Username, o.Password = c.username, os.Getenv("HUBCTL_PASSWORD")
	if c.passwordFile != "" {
		b, err := os.ReadFile(c.passwordFile)
		if err != nil {
			return nil, err
		}
		o.Password = strings.TrimRight(string(b), "\r\n")
	}
	if c.caFile != "" || c.certFile != "" || c.keyFile != "" || c.serverName != "" {
		tc, err := uplink.LoadTLS(c.caFile, c.certFile, c.keyFile, c.serverName)
		if err != nil {
			return nil, err
		}
		o.TLS = tc
	}
	id := c.clientID
	if id == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		id = "hubctl-" + hex.EncodeToString(b[:])
	}
	return hubclient.Connect(c.broker, id, o)
}

func newRoot(out io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "hubctl",
		Short:         "The reference city hub: keys, commands to pods, merge-wide aborts, following pods",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(keygenCmd(out), sendCmd(out), abortMergeCmd(), followCmd(out))
	return root
}

func keygenCmd(out io.Writer) *cobra.Command {
	var kid, private, public string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make an Ed25519 signing key: a private JWK Set for the hub, a public one for the pods (security.hub_keys)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			k, err := hubclient.GenerateKey(kid)
			if err != nil {
				return err
			}
			if err := hubclient.WriteKeyFiles(k, private, public); err != nil {
				return err
			}
			fmt.Fprintf(out, "key %s: private %s, public %s\n", kid, private, public)
			return nil
		},
	}
	cmd.Flags().StringVar(&kid, "kid", "", "the key's name (kid), as the pods' key set will know it")
	cmd.Flags().StringVar(&private, "private", "", "where to write the private set (mode 0600; never overwritten)")
	cmd.Flags().StringVar(&public, "public", "", "where to write the public set, for the pods")
	for _, f := range []string{"kid", "private", "public"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// send are the flags common to every command sent.
type send struct {
	conn
	keyFile, kid, pod string
	timeout, lifetime time.Duration
	asJSON            bool
}

func sendCmd(out io.Writer) *cobra.Command {
	s := &send{}
	cmd := &cobra.Command{
		Use:   "send",
		Short: "Sign a command, send it to a pod and print its reply",
		Args:  cobra.NoArgs,
		// Alone it prints its help; a mistyped command is refused by
		// cobra.NoArgs as unknown (exit status 1).
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	s.conn.flags(cmd, true)
	pf := cmd.PersistentFlags()
	pf.StringVar(&s.keyFile, "key", "", "the hub's private JWK Set (hubctl keygen --private)")
	pf.StringVar(&s.kid, "kid", "", "the key of the set to sign with (default: the first)")
	pf.StringVar(&s.pod, "pod", "", "the pod's id")
	pf.DurationVar(&s.timeout, "timeout", 10*time.Second, "how long to wait for the pod's reply")
	pf.DurationVar(&s.lifetime, "lifetime", hubclient.DefaultLifetime, "how long the command is valid (exp - iat), whole seconds")
	pf.BoolVar(&s.asJSON, "json", false, "print the reply as JSON")

	var session, dreamscape, start, reason string
	var maxDur, identify, every time.Duration
	var unsigned bool
	start1 := &cobra.Command{
		Use:   "merge-start",
		Short: "Ask the pod to join a merge (it needs its sleeper's local consent)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			at := time.Now()
			if start != "" {
				var err error
				if at, err = time.Parse(time.RFC3339, start); err != nil {
					return fmt.Errorf("--start: %w", err)
				}
			}
			return s.run(out, hubcmd.MergeStart{Session: session, Dreamscape: dreamscape, Start: at, MaxDuration: maxDur}, false)
		},
	}
	start1.Flags().StringVar(&session, "session", "", "the merge's session id")
	start1.Flags().StringVar(&dreamscape, "dreamscape", "", "the dreamscape, by name")
	start1.Flags().DurationVar(&maxDur, "max", time.Hour, "the merge's longest duration (1m..12h, whole seconds)")
	start1.Flags().StringVar(&start, "start", "", "when the merge starts, RFC 3339 (default: now)")
	_ = start1.MarkFlagRequired("session")
	_ = start1.MarkFlagRequired("dreamscape")

	end := &cobra.Command{
		Use:   "merge-end",
		Short: "Ask the pod to end its merge gracefully",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return s.run(out, hubcmd.MergeEnd{Session: session}, false)
		},
	}
	end.Flags().StringVar(&session, "session", "", "the merge's session id")
	_ = end.MarkFlagRequired("session")

	abort := &cobra.Command{
		Use:   "merge-abort",
		Short: "Ask the pod to abort its merge at once (accepted even unsigned)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return s.run(out, hubcmd.MergeAbort{Session: session, Reason: reason}, unsigned)
		},
	}
	abort.Flags().StringVar(&session, "session", "", "the merge meant (optional)")
	abort.Flags().StringVar(&reason, "reason", "", "why, for the pod's audit (optional)")
	abort.Flags().BoolVar(&unsigned, "unsigned", false, "send it without a signature (no --key needed)")

	ident := &cobra.Command{
		Use:   "identify",
		Short: "Ask the pod to show itself",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return s.run(out, hubcmd.Identify{Duration: identify}, false)
		},
	}
	ident.Flags().DurationVar(&identify, "for", 10*time.Second, "how long (1s..2m, whole seconds)")

	interval := &cobra.Command{
		Use:   "telemetry-interval",
		Short: "Set the pod's telemetry cadence",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return s.run(out, hubcmd.TelemetryInterval{Interval: every}, false)
		},
	}
	interval.Flags().DurationVar(&every, "every", time.Second, "the interval (100ms..60s, whole milliseconds)")
	_ = interval.MarkFlagRequired("every")

	cmd.AddCommand(start1, end, abort, ident, interval)
	return cmd
}

// token signs args for the pod, or makes an unsigned abort.
func (s *send) token(args hubcmd.Args, unsigned bool) (hubclient.Token, error) {
	if unsigned {
		return hubclient.UnsignedAbort(args.(hubcmd.MergeAbort), s.pod)
	}
	if s.keyFile == "" {
		return hubclient.Token{}, errors.New("--key is required (or --unsigned, for merge-abort)")
	}
	keys, err := hubclient.LoadKeys(s.keyFile)
	if err != nil {
		return hubclient.Token{}, err
	}
	k := keys[0]
	if s.kid != "" {
		found := false
		for _, c := range keys {
			if c.ID == s.kid {
				k, found = c, true
			}
		}
		if !found {
			return hubclient.Token{}, fmt.Errorf("--kid %q is not in %s", s.kid, s.keyFile)
		}
	}
	signer, err := hubclient.NewSigner(k, hubclient.Options{Lifetime: s.lifetime})
	if err != nil {
		return hubclient.Token{}, err
	}
	return signer.Sign(args, s.pod)
}

func (s *send) run(out io.Writer, args hubcmd.Args, unsigned bool) error {
	if s.pod == "" {
		return errors.New("--pod is required")
	}
	if s.timeout <= 0 {
		return fmt.Errorf("--timeout %v: want more than 0, the time to wait for the pod's reply", s.timeout)
	}
	tok, err := s.token(args, unsigned)
	if err != nil {
		return err
	}
	cl, err := s.connect()
	if err != nil {
		return err
	}
	defer cl.Close()
	r, err := cl.Request(s.pod, tok, s.timeout)
	if errors.Is(err, hubclient.ErrNoReply) || errors.Is(err, hubclient.ErrClosed) {
		return &exitErr{exitNoReply, fmt.Errorf("%s %s (jti %s): %w", args.Name(), s.pod, tok.ID, err)}
	}
	if err != nil {
		return err
	}
	if s.asJSON {
		b, _ := json.Marshal(r)
		fmt.Fprintf(out, "%s\n", b)
	} else if r.OK {
		fmt.Fprintf(out, "%s %s: accepted (jti %s)\n", args.Name(), s.pod, r.JTI)
	} else {
		fmt.Fprintf(out, "%s %s: refused: %s (jti %s)\n", args.Name(), s.pod, r.Error, r.JTI)
	}
	if !r.OK {
		return &exitErr{exitRefused, fmt.Errorf("refused: %s", r.Reason())}
	}
	return nil
}

func abortMergeCmd() *cobra.Command {
	var c conn
	var session, reason string
	cmd := &cobra.Command{
		Use:   "abort-merge",
		Short: "Abort a merge for every pod in it (sleegation/v1/merges/{session}/abort); no pod replies",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cl, err := c.connect()
			if err != nil {
				return err
			}
			defer cl.Close()
			return cl.AbortMerge(session, reason)
		},
	}
	c.flags(cmd, false)
	cmd.Flags().StringVar(&session, "session", "", "the merge's session id")
	cmd.Flags().StringVar(&reason, "reason", "", "why, carried in the payload (optional)")
	_ = cmd.MarkFlagRequired("session")
	return cmd
}

func followCmd(out io.Writer) *cobra.Command {
	var c conn
	var pods []string
	var asJSON, receipts bool
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "follow",
		Short: "Print pods' records once each (deduplicated on pod and seq), and the gaps in their seqs, one per line",
		Long: `Print pods' records once each (deduplicated on pod and seq), and the gaps in their seqs, one per line.

The hub's status (sleegation/v1/hub/status) is online, retained, while it follows, and
offline (its will, or its goodbye) once it stops.

With --receipts it is the hub that pods with uplink.require_hub wait for: it announces
itself online only once subscribed, and publishes each pod's receipt (retained, on
sleegation/v1/pods/{pod}/receipt, at most once a second): every record up to that seq
was printed, or reported dropped. Those pods delete a record only on its receipt, hold
their backlog while no such hub is online, and send it when one is. Run one receipting
hub per pod.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if len(pods) == 0 {
				return errors.New("--pod is required")
			}
			cl, err := c.connectWith(hubclient.ConnectOptions{DeferOnline: receipts})
			if err != nil {
				return err
			}
			defer cl.Close()
			f, err := cl.FollowWith(hubclient.FollowOptions{Receipts: receipts}, pods...)
			if err != nil {
				return err
			}
			defer f.Close()
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sig)
			var stop <-chan time.Time
			if dur > 0 {
				t := time.NewTimer(dur)
				defer t.Stop()
				stop = t.C
			}
			for {
				select {
				case u := <-f.Updates():
					printUpdate(out, u, asJSON)
				case <-sig:
					return nil
				case <-stop:
					return nil
				case <-cl.Lost():
					return &exitErr{exitNoReply, errors.New("the connection to the broker was lost")}
				}
			}
		},
	}
	c.flags(cmd, false)
	cmd.Flags().StringArrayVar(&pods, "pod", nil, "a pod to follow (repeat for several)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	cmd.Flags().BoolVar(&receipts, "receipts", false, "publish each pod's receipt: the hub pods with uplink.require_hub wait for")
	cmd.Flags().DurationVar(&dur, "for", 0, "stop after this long (default: until interrupted)")
	return cmd
}

// followLine is an update as JSON.
type followLine struct {
	Update     string          `json:"update"` // record, gap or filled
	Pod        string          `json:"pod"`
	Kind       string          `json:"kind,omitempty"`
	Seq        uint64          `json:"seq,omitempty"`
	Historical bool            `json:"historical,omitempty"`
	Retained   bool            `json:"retained,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
	From       uint64          `json:"from,omitempty"`
	To         uint64          `json:"to,omitempty"`
	By         string          `json:"by,omitempty"`
}

func printUpdate(out io.Writer, u hubclient.Update, asJSON bool) {
	if asJSON {
		l := followLine{Update: string(u.Kind), Pod: u.Pod, From: u.From, To: u.To, By: u.By}
		if r := u.Record; r != nil {
			l.Kind, l.Seq, l.Historical, l.Retained, l.Body = r.Kind, r.Seq, r.Historical, r.Retained, r.Raw
		}
		b, _ := json.Marshal(l)
		fmt.Fprintf(out, "%s\n", b)
		return
	}
	switch u.Kind {
	case hubclient.UpdateRecord:
		r := u.Record
		head := fmt.Sprintf("%s %s", r.Pod, r.Kind)
		if r.Seq != 0 {
			head = fmt.Sprintf("%s seq %d %s", r.Pod, r.Seq, r.Kind)
		}
		if r.Type != "" {
			head += " " + r.Type
		}
		if r.Historical {
			head += " historical"
		}
		if r.Retained {
			head += " retained"
		}
		fmt.Fprintf(out, "%s %s\n", head, r.Raw)
	case hubclient.UpdateGap:
		fmt.Fprintf(out, "%s gap %d..%d (not received; maybe still in flight)\n", u.Pod, u.From, u.To)
	case hubclient.UpdateFilled:
		how := "arrived"
		if u.By == "dropped" {
			how = "reported dropped"
		}
		fmt.Fprintf(out, "%s gap %d..%d %s\n", u.Pod, u.From, u.To, how)
	}
}
