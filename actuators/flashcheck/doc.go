// Package flashcheck checks a recorded stream of light against the pod's
// flashing-light rule. It is the independent judge of the photosensitivity
// guard (actuators/lightguard): it shares no code with the guard beyond the
// measure of light in actuators/light, and it judges what was shown, not how.
//
// # The rule
//
// The pod's light fills the sleeper's whole field of view, so the rule is
// applied to the whole stream with no allowance for a small flashing area
// (WCAG's "25 % of any 10 degree visual field" does not apply). In any 1 s:
// at most 3 general flashes and at most 3 red flashes; and no periodic
// modulation between 3 and 60 Hz of depth 0.1 or more.
//
// Sources: WCAG 2.2 success criterion 2.3.1 "Three Flashes or Below
// Threshold" and its definition "general flash and red flash thresholds"
// (https://www.w3.org/TR/WCAG22/#dfn-general-flash-and-red-flash-thresholds,
// the same in WCAG 2.0 and 2.1); ITU-R BT.1702 and Ofcom's guidance on
// photosensitive epilepsy, whose analysers (Harding FPA, the Trace Center's
// PEAT) count transitions the way this package does; the 3..60 Hz band from
// the clinical literature summarised in the project's FACTS.md ("Flashing
// light limits": most provocative 15..25 Hz, some people sensitive from 3 Hz
// up to 50..60 Hz).
//
// # Definitions
//
// A stream is a list of samples: a time from the stream's start
// (time.Duration, strictly increasing) and a colour (light.RGB, linear light
// per channel, each 0..1). Each sample is what the output showed from its
// time until the next sample's (a zero-order hold: an LED keeps its frame).
//
//   - Luminance L is light.RGB.Luminance: relative luminance, 0..1 of the
//     output's full scale. Depths and changes are in the same unit, so 0.1 is
//     WCAG's "10 % of the maximum relative luminance".
//   - A change is a monotonic excursion of L of at least 0.1 from the last
//     turning point. The checker tracks the running extreme since the last
//     turning point; when L has come back from that extreme by 0.1 or more,
//     the extreme is a turning point and the excursion up to it is one
//     change. Smaller wiggles on the way do not end an excursion (a
//     hysteresis of 0.1, as the analysers above count transitions). The
//     excursion still open at the end of the stream is a change too. A
//     change happens at the time of the sample where it reaches its extreme.
//   - A general change is a change whose darker end is below 0.8 in L. A
//     general flash is a pair of opposing general changes.
//   - A red change is a change whose brighter end is saturated red
//     (light.RGB.RedRatio >= light.SaturatedRed, 0.8). WCAG calls a red flash
//     "any pair of opposing transitions involving a saturated red"; this
//     package reads "involving" as "the brighter state of the transition is
//     saturated red", since a transition between dark and red shows red only
//     at its bright end, and a red change has no condition on its darker end.
//     A red flash is a pair of opposing red changes.
//   - Counting: a 1 s window [t, t+1 s) holds the changes that happen in it;
//     n changes make ceil(n/2) flashes (a window holding 7 changes has seen a
//     4th flash begin, and counts it). The report gives the worst window
//     (most flashes) and its start, the time of its first change. The rule
//     breaks with 4 flashes in a window: 7 changes.
//   - Rate of changes: the same windows counting every change, whatever its
//     darker end. Six changes in a second are a modulation of 3 Hz of depth
//     at least 0.1, which the pod forbids even where its flashes are too
//     bright to count (darker end at 0.8 or above): 6 changes in a window
//     break the rule.
//
// # Periodic modulation
//
// The modulation is measured by its spectrum. L is resampled, holding each
// sample, at 240 Hz (ResampleHz, twice the 60 Hz top of the band); windows
// of 2 s (shorter streams: the whole stream, from 1 s) every 0.25 s have
// their least-squares straight line removed (so a slow ramp is not read as
// modulation), are weighted with a Hann window and zero-padded to 4 times
// their length, and their discrete Fourier transform (gonum's dsp/fourier)
// is read from 3 to 60 Hz. A bin's amplitude A is 2|X|/sum(w) (w the Hann
// weights), and its depth is 2A, the peak-to-peak excursion of that
// sinusoidal component, in the same unit as the flash rule. A depth of 0.1 or
// more anywhere in 3..60 Hz breaks the rule. The report gives the strongest
// bin (frequency, depth, window start).
//
// Resolution: bins every 0.125 Hz; the Hann window's main lobe is ±1 Hz
// wide on a 2 s window, so components closer than about 1 Hz are not told
// apart, and a component whose frequency falls between bins loses at most
// about 1 % of its amplitude. The depth is that of the component, not the
// wave: a square wave's fundamental is 4/π of its peak-to-peak (this measure
// is stricter than the rule for square waves), a triangle's 8/π² of it (less
// strict: a 3 Hz triangle of depth 0.1 measures 0.081). That gap is closed
// by the rate of changes above: a triangle of depth 0.1 at 3 Hz or faster
// is 6 changes a second.
//
// Sample rate: resampling with a hold judges exactly what a recording of
// every frame shows. If the samples are instead measurements of a light that
// changes between them (a photodiode), a modulation above half the stream's
// sample rate cannot be seen: to see 60 Hz the stream needs at least 120
// samples a second (Nyquist). The report gives the stream's median sample
// rate and the highest frequency it can show (Report.SampleRateHz,
// Report.MaxVisibleHz) and says when that is below 60 Hz (Report.TooSlow);
// that is a limit of the judgement, not a violation.
//
// # Zones and the whole pod
//
// Check judges one stream. CheckZones judges each zone's stream and the
// whole pod's, the weighted mean of the zones' colours (weights: each zone's
// share of the light, for instance its LED count): at each time any zone
// changed, the pod shows the weighted mean of every zone's held colour.
package flashcheck
