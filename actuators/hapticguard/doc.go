// Package hapticguard is the haptic guard: it runs on every haptic frame,
// per place (a motor or a group of motors the configuration names), after
// the frame is rendered and before it is written to the drivers, and keeps
// every place within an intensity cap and a duty budget, whatever the
// program asks for.
//
// # Intensity and the cap
//
// Intensity is 0..1 of the driver's full scale (for a DRV2605, of its
// rated voltage; for a motor on a PWM or GPIO line, of its duty). Every
// output is at most Cap. Cap comes from configuration and may not exceed
// HardMaxCap, 0.8: a motor run at its full rated drive all night heats its
// coil and numbs the skin under it (vibrotactile adaptation), and a
// sleeper's body does not need full scale to feel a pattern; 0.8 leaves a
// fifth of the motor's range unused as a margin against drivers whose full
// scale is above their motor's rating. The default is 0.6. These figures
// are choices made for the pod, not taken from a standard; the driver's own
// hardware cap (the DRV2605's OD_CLAMP) is set from the same value.
//
// # On-off places
//
// A motor switched by a GPIO line has no intensity: it runs at the drive
// its wiring gives it, or not at all. SetOnOff marks such a place: a
// request capped as above runs it when it is at least OnOffAt (half of full
// scale) and the output is then 1 (its full, wired drive), otherwise 0; the
// budget charges 1 a second while it runs, what the motor really gets.
// The cap still decides: a cap below OnOffAt keeps the place still. Its
// wiring (the motor's supply, a series resistor) sets how strong its full
// drive is; size it to the cap.
//
// # The duty budget
//
// Over any sliding window of Window, the integral of a place's intensity
// over time (intensity·seconds) stays at or below Duty·Window: at the
// default Duty of 0.2 and Window of 60 s, 12 intensity·seconds a minute,
// such as 20 s at the default cap of 0.6 or 15 s at 0.8. Duty may not exceed
// HardMaxDuty, 0.3 (a motor never vibrates more than 30 % of any window at
// full scale); Window must lie within MinWindow..MaxWindow, 10 s..10 min (a
// shorter window would cut patterns of a few seconds into pieces; a longer
// one would let a long burst through after a quiet stretch).
//
// When a place's request at a frame would take it over the budget, the
// place is held at 0 (a clean stop, no fading at the frame rate) until its
// window has freed enough: until the integral falls to ResumeFraction (0.9)
// of the budget. The hysteresis keeps a place at its limit from buzzing on
// and off at the frame rate.
//
// The guard can only act at frames; between two frames a place holds its
// output. So an intensity x is granted only if the integral up to now plus
// x·Hold (the longest expected interval to the next frame, 100 ms by
// default, at most 1 s) still fits the budget. Then, for any time s from
// now to now+Hold, the integral over [s−Window, s] is at most the integral
// over [now−Window, now] plus x·Hold, within the budget. A frame loop that
// stalls longer than Hold can overspend by x times the excess; at its next
// frame the guard sees the overspend and holds the place at 0. The frame
// loop is the owner of that bound (and the safe state stops every motor
// when the loop stops).
//
// # Keeping the window without allocating
//
// A place's history is a ring of Slots+1 (101) slots of Window/Slots (at
// least; rounded up to the nanosecond) each: the output held over a stretch
// of time adds intensity times its length to the slot the stretch falls in,
// split exactly at slot edges. The integral is read as the sum of the slots
// that overlap [now−Window, now]. The oldest of them lies partly before the
// window, so the sum may count up to one slot's worth (Cap·Window/Slots:
// 0.36 intensity·seconds at the defaults, 3 % of the budget) that has
// already left the window: the guard is stricter than the budget by at most
// that, never looser. Memory is fixed at New; Limit allocates nothing.
//
// # Episodes
//
// As for the lights: a run of limited frames in one place (by the cap, by
// the budget, or both), ended by 1 s (EpisodeGap) without limiting there,
// taken once with Ended, so that the caller emits one `guard` event per
// episode.
package hapticguard
