package vitals_test

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/sleegation/podd/sensors/vitals"
)

// Over the range the pod must measure (heart rate 40-180 bpm, SpO2
// 80-100 %), the whole chain (simulated chip with its noise: the sensor's
// shot and thermal noise, sim.MAX30102; the real driver; the estimator,
// polled every 200 ms) reports every reading valid once a window is full,
// within 2 bpm of the heart rate and 2 points of the SpO2. The largest
// errors are logged.
func TestPipelineOverTheRange(t *testing.T) {
	const run = 30 * time.Second
	settled := time.Duration(vitals.WindowSeconds+1) * time.Second
	for _, hr := range []float64{40, 60, 90, 120, 150, 180} {
		for _, spo2 := range []float64{80, 90, 100} {
			t.Run(fmt.Sprintf("%vbpm_%vpct", hr, spo2), func(t *testing.T) {
				trace := pipelineTrace(t, run, func(time.Duration) (float64, float64) { return hr, spo2 })
				var n, invalid int
				var hrErr, spo2Err float64
				for _, r := range trace {
					if since(r) < settled {
						continue
					}
					n++
					if !r.HeartRateValid || !r.SpO2Valid {
						invalid++
						continue
					}
					hrErr = max(hrErr, math.Abs(r.HeartRateBPM-hr))
					spo2Err = max(spo2Err, math.Abs(r.SpO2Pct-simSpO2(spo2)))
				}
				t.Logf("%v bpm, %v %%: %d readings after %v, %d invalid; largest error %.2f bpm, %.2f points",
					hr, spo2, n, settled, invalid, hrErr, spo2Err)
				if n == 0 || invalid > 0 || hrErr > 2 || spo2Err > 2 {
					t.Errorf("%d of %d readings invalid, largest error %.2f bpm and %.2f points; want all valid, within 2 bpm and 2 points",
						invalid, n, hrErr, spo2Err)
				}
			})
		}
	}
}
