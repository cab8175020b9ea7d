package sensing

import (
	"testing"
	"testing/synctest"
	"time"
)

// The default rate set on testing/synctest's clock (no sensor waits late,
// unlike BenchmarkRateSet's real clock): every bus carries whole bursts, never
// a transaction per byte or per sample. Each second: 500 EEG frames, each
// one 27-byte transaction; 5 PPG polls (every 200 ms), each the FIFO
// pointers and one burst of the samples; 10 ADS1115 conversions, each a
// start, a poll of its status at once (busy) and one a conversion time
// later (done), and the result; 2 TMP117 polls (twice its
// conversion rate), each the configuration (Data_Ready) and the result.
// The transactions per second and the CPU the process spent per second of
// signal are logged.
func TestRateSetBusTransactions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const measure = 20 // s
		rs := newRateSet(t)
		defer rs.stop()
		// Off the instants of the polls and conversions, so that none
		// falls on the window's edges.
		time.Sleep(5*time.Second + time.Millisecond)
		tx0, cpu0 := rs.txs(), cpuTime(t)
		time.Sleep(measure * time.Second)
		tx1, cpu := rs.txs(), cpuTime(t)-cpu0
		for _, l := range rs.loops {
			if h := l.Health(); h.State != OK {
				t.Errorf("%s: %+v, want ok", l.Name(), h)
			}
		}
		// The TMP117: 2 polls a second of 2 transactions each (its
		// configuration for Data_Ready, the result), and on the one that
		// finds a result, Configuration again to see Data_Ready cleared.
		want := [4]int{500, 5 * 2, 10 * 4, 2*2 + 1}
		for i, name := range []string{"eeg (SPI)", "ppg (I2C)", "eda (I2C)", "temp (I2C)"} {
			got := float64(tx1[i]-tx0[i]) / measure
			t.Logf("%s: %.2f transactions/s, at least %.3f needed", name, got, minTxsPerSecond[i])
			if got != float64(want[i]) {
				t.Errorf("%s: %.2f transactions/s, want %d", name, got, want[i])
			}
		}
		t.Logf("CPU %.2f ms per second of signal (the whole process, on the fake clock)", cpu.Seconds()*1e3/measure)
	})
}
