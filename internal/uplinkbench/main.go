// Command uplinkbench measures what podd's durable uplink costs against
// plain paho on one local mosquitto, and prints one markdown table: the
// baseline (paho QoS 1, no store, the uplink's window), the durable path
// (uplink.Telemetry appends to a journal.Store while the uplink delivers),
// appends alone, and the drain of a backlog after a reconnect, each as
// messages per second and as a ratio to the baseline, with the fsyncs per
// record of the durable path and of appends counted under strace when it is
// installed. It starts its own mosquitto on a free loopback port unless
// -broker names one, and keeps its journals in a temporary directory it
// removes. It is a measuring tool: nothing in the daemon imports it, and it
// asserts nothing about speed. scripts/uplink-bench.sh builds and runs it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "uplinkbench:", err)
		os.Exit(1)
	}
}

type flags struct {
	baseline, n, backlog, window, fsyncN int
	broker, dir, cmdline, pass           string
	cpuprofile                           string
	fsync                                bool
}

func run() error {
	var f flags
	flag.IntVar(&f.baseline, "baseline", 100000, "messages of row 1 (plain paho)")
	flag.IntVar(&f.n, "n", 10000, "records of row 2 (durable path), and of a strace pass with -pass")
	flag.IntVar(&f.backlog, "backlog", 100000, "records of rows 3 (appends alone) and 4 (drain): the appends of row 3 are row 4's backlog")
	flag.IntVar(&f.window, "window", 32, "messages in flight, for the uplink (uplink.Config.Window) and the baseline")
	flag.BoolVar(&f.fsync, "fsync", true, "count fsyncs per record of rows 2 and 3 under strace, when it is installed")
	flag.IntVar(&f.fsyncN, "fsync-n", 1000, "records of the smaller of the two strace passes per row (the other has 3×)")
	flag.StringVar(&f.broker, "broker", "", "use this broker (tcp://host:port) instead of starting mosquitto")
	flag.StringVar(&f.dir, "dir", "", "directory for the journals (default: a new temporary directory, removed at the end)")
	flag.StringVar(&f.cmdline, "cmdline", "", "the command line to print (default: this program's)")
	flag.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of rows 2 to 4 (the uplink's rows, not the baseline nor the strace passes) to this file")
	flag.StringVar(&f.pass, "pass", "", "internal: run one strace pass (append or durable) of -n records and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	if f.baseline < 1 || f.n < 1 || f.backlog < 1 || f.window < 1 || f.fsyncN < 1 {
		return errors.New("-baseline, -n, -backlog, -window and -fsync-n must be positive")
	}
	if f.cmdline == "" {
		f.cmdline = strings.Join(os.Args, " ")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b := &bench{broker: f.broker, dir: f.dir, window: f.window, log: log}
	if f.pass != "" {
		if b.broker == "" || b.dir == "" {
			return errors.New("-pass needs -broker and -dir")
		}
		return runPass(ctx, b, f.pass, f.n)
	}

	if b.dir == "" {
		dir, err := os.MkdirTemp("", "uplinkbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		b.dir = dir
	}
	brokerDesc := b.broker
	if b.broker == "" {
		m, err := startMosquitto(b.dir)
		if err != nil {
			return err
		}
		defer m.stop()
		b.broker = m.url()
		brokerDesc = m.version + ", started for this run on " + m.addr() + " (plain TCP, no persistence)"
	}
	return measure(ctx, os.Stdout, b, f, brokerDesc)
}

// measure runs every row and prints the table to w.
func measure(ctx context.Context, w io.Writer, b *bench, f flags, brokerDesc string) error {
	progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "uplinkbench: "+format+"\n", args...) }
	started := time.Now()

	size, err := b.payloadSize(ctx)
	if err != nil {
		return fmt.Errorf("payload size: %w", err)
	}
	progress("one telemetry message is %d bytes on the wire", size)

	progress("row 1: plain paho, %d messages", f.baseline)
	base, err := b.baseline(f.baseline, make([]byte, size))
	if err != nil {
		return fmt.Errorf("row 1: %w", err)
	}

	if f.cpuprofile != "" {
		stop, err := startCPUProfile(f.cpuprofile)
		if err != nil {
			return err
		}
		defer stop()
	}

	progress("row 2: durable path, %d records", f.n)
	dur, err := b.durable(ctx, "pod-row-2", f.n, 0)
	if err != nil {
		return fmt.Errorf("row 2: %w", err)
	}

	progress("rows 3 and 4: %d appends, then their drain", f.backlog)
	bl, err := b.backlog(ctx, "pod-row-4", f.backlog)
	if err != nil {
		return fmt.Errorf("rows 3 and 4: %w", err)
	}

	if f.cpuprofile != "" {
		pprof.StopCPUProfile()
	}

	fsyncDurable := fsyncCount{reason: "-fsync=false"}
	fsyncAppend := fsyncDurable
	if f.fsync {
		progress("fsyncs: strace passes of %d and %d records", f.fsyncN, 3*f.fsyncN)
		fsyncDurable = countFsyncs(ctx, b, passDurable, f.fsyncN)
		fsyncAppend = countFsyncs(ctx, b, passAppend, f.fsyncN)
		if err := ctx.Err(); err != nil {
			return err
		}
	}

	baseRate := rate(f.baseline, base)
	rows := []struct {
		path    string
		records int
		elapsed time.Duration
		fsyncs  string
	}{
		{"plain paho QoS 1, no store (baseline)", f.baseline, base, "–"},
		{"durable: `Telemetry` appends while the uplink delivers; appended AND acknowledged and deleted", f.n, dur.delivered, fsyncDurable.String()},
		{"appends alone (`Telemetry`, uplink not running)", f.backlog, bl.appended, fsyncAppend.String()},
		{fmt.Sprintf("drain of a %d-record backlog after a reconnect, from the connection up to an empty outbox", f.backlog), f.backlog, bl.drained, "–"},
	}

	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## podd uplink throughput\n\n")
	p("- command: `%s`\n", f.cmdline)
	p("- date: %s\n", started.UTC().Format(time.RFC3339))
	p("- machine: %s/%s, %d cores (%s)\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	p("- Go: %s\n", runtime.Version())
	p("- broker: %s\n", brokerDesc)
	p("- journal: bbolt files in %s (%s)\n", b.dir, fsType(b.dir))
	p("- messages: QoS 1, %d bytes of payload (one telemetry record as the broker delivers it), at most %d in flight, no subscriber on the topics\n\n", size, f.window)
	p("| # | path | records | seconds | messages/s | ratio to 1 | fsyncs/record |\n")
	p("|---|---|---:|---:|---:|---:|---:|\n")
	for i, r := range rows {
		rt := rate(r.records, r.elapsed)
		p("| %d | %s | %d | %.2f | %.0f | %s | %s |\n", i+1, r.path, r.records, r.elapsed.Seconds(), rt, ratio(rt, baseRate), r.fsyncs)
	}
	p("\n")
	p("- row 2: the %d appends took %.2f s (%.0f appends/s) with the drainer's deletes competing for the journal's one writer; the outbox was empty %.2f s after the first append.\n",
		f.n, dur.appended.Seconds(), rate(f.n, dur.appended), dur.delivered.Seconds())
	p("- row 4: the appends of row 3 are its backlog. The uplink's connection was up %.2f s after Run (this includes the check for another pod, which waits ProbeWait for a retained status); the outbox was empty %.2f s after Run.\n",
		bl.connected.Seconds(), (bl.connected + bl.drained).Seconds())
	if f.fsync && fsyncDurable.reason == "" && fsyncAppend.reason == "" {
		p("- fsyncs/record: fsync and fdatasync calls counted by `strace -f -c` in separate, untimed passes of %d and %d records in child processes; the difference over %d records, so opening and closing the journal cancel out.\n",
			f.fsyncN, 3*f.fsyncN, 2*f.fsyncN)
	} else {
		for _, c := range []struct {
			row   string
			count fsyncCount
		}{{"2", fsyncDurable}, {"3", fsyncAppend}} {
			if c.count.reason != "" {
				p("- fsyncs/record of row %s: n/a (%s).\n", c.row, c.count.reason)
			}
		}
	}
	p("- total run time: %.0f s\n", time.Since(started).Seconds())
	return nil
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// ratio writes r/base with three significant digits; the baseline's own is
// 1.00.
func ratio(r, base float64) string {
	if base == 0 {
		return "n/a"
	}
	if r == base {
		return "1.00"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.3g", r/base), ".")
}

// startCPUProfile starts a CPU profile written to path; the returned
// function stops it (again) and closes the file.
func startCPUProfile(path string) (stop func(), err error) {
	fh, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		fh.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		fh.Close()
	}, nil
}

// cpuModel is the first model name in /proc/cpuinfo, or the architecture.
func cpuModel() string {
	fh, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
