// Package dreamscape owns the pod's dreamscapes: the programs of light and
// touch that artists write for a night (the format, its validation, and
// its rendering into frames for the pod's light zones and haptic places)
// and the Player that renders them at a fixed frame rate.
//
// This package renders what a program says and nothing more: it is not a
// safety guard. Its limits keep a program well-formed (values within 0..1,
// keyframes in order, haptic periods no faster than 1 Hz); they do not
// stop a program from flashing. A 10 Hz strobe is a valid program
// (testdata/strobe-10hz.yaml): the photosensitivity and haptic guards sit
// between the player's frames and the outputs.
//
// # The format
//
// A program is one YAML document (JSON is YAML, so a program may also be
// written as JSON, with durations as strings):
//
//	name: calm-night
//	duration: 30m          # Go duration; the program's length
//	loop: true             # play again from the start at the end
//	lights:
//	  canopy:              # a light zone's name
//	    - {at: 0s,  color: "#ff9040", level: 0.05, ease: linear}
//	    - {at: 10m, color: "#ff7030", level: 0.02, ease: in-out}
//	haptics:
//	  back:                # a haptic place's name
//	    - {at: 0s, pattern: off}
//	    - {at: 5m, pattern: breathe, intensity: 0.2, period: 6s}
//
// Keys of the program:
//
//   - name (required): free text, 1..64 bytes, no control characters.
//   - duration (required): a Go duration ("30m", "1h30m", "500ms"),
//     1s..24h.
//   - loop (default false): at the end, play again from the start; the
//     last keyframe of each track fades into the first, reached again at
//     the duration. Without loop the frame at the duration is held.
//   - lights: light zone name -> keyframes; haptics: haptic place name ->
//     keyframes. Names are ASCII letters, digits, '-' and '_', at most 64
//     bytes; at most 64 zones and 64 places; a program names at least one.
//
// Every track has 1..1000 keyframes, sorted by `at` (strictly increasing),
// the first at 0s, none after the duration. A keyframe's `ease` (default
// linear) is the curve from it to the next keyframe: step (hold, then
// jump at the next keyframe), linear, in (cubic ease-in, f³), out (cubic
// ease-out, 1-(1-f)³) or in-out (cubic ease-in-out).
//
// A light keyframe has `color`, the sRGB colour "#rrggbb" an artist picks
// (decoded to linear light by light.ParseHex), and `level`, 0..1, which
// scales the colour's linear light: the LEDs' output is proportional to
// it. Both are required.
//
// A haptic keyframe has a `pattern`: off, steady, pulse (a square wave,
// on for half the period), breathe (a raised cosine, from still to the
// peak and back) or wave (a swell: rising over three quarters of the
// period, falling over the last quarter); an `intensity`, 0..1 of the
// motor's full drive, the pattern's peak (required except for off, which
// takes none); and, for pulse, breathe and wave, a `period`, 1s..10m. A
// period below 1s is refused: 1 Hz is already a fast buzz for a sleeper,
// and anything faster is the motor's own vibration, not a pattern. The
// intensity is the motor's drive (its vibration strength), not a position;
// the pattern is the envelope of that drive.
//
// A zone or place of the pod that the program does not name stays dark
// (black, no drive) while it plays (Bind).
//
// # Validation
//
// Parse refuses unknown keys (yaml.v3's KnownFields) and values of the
// wrong type, naming the keyframe and the line; then it checks every value
// and reports every problem at once (errors.Join), each naming the file,
// the track, the keyframe's index and time, and the field:
//
//	calm-night.yaml: lights.canopy[2] (at 10m): level 1.5 is outside 0..1
//
// A program with any error is never returned. A file is at most 1 MiB.
// Validation works in two steps: the document's text is converted (a
// duration, a colour, an ease, a pattern) with its failures reported and
// marked, then Program.Validate's checks run on the converted program,
// leaving out the fields that failed, so no problem is reported twice.
// Bind runs Validate again on whatever it is given, so a Program built or
// changed in code is held to the same rules.
//
// # Rendering
//
// Bound.Render computes one frame from the program time alone (no state
// between frames): for each track, a binary search finds the keyframes A
// and B around the time, the ease gives B's weight w, and the output is
// (1-w)·A + w·B. For lights A and B are each keyframe's colour in linear
// light times its level, so a fade from red to blue passes through the
// half of each in emitted light, not through the darker midpoint of their
// sRGB codes. For haptics A and B are each keyframe's intensity times its
// pattern, each pattern's phase counted from its own keyframe's time: a
// fade between two patterns is a crossfade of the two envelopes, and a
// fade from off to breathe is a breathe growing from nothing. Both outputs
// are convex combinations of values within 0..1, so they stay within
// 0..1 (clamped against rounding). Render does not allocate.
//
// A program that does not loop holds the frame at its duration: the
// lights at their last keyframe, and each motor at the drive its pattern
// has at that instant, constant. A program that should end with the
// motors still ends its haptic tracks with off (sunrise does).
//
// # The player
//
// Player.Run renders frame k for program time k/Rate and hands it to the
// Sink once the monotonic clock reaches start + k/Rate. Each deadline is
// computed from the start in integer nanoseconds (k/Rate whole seconds
// plus the remainder's share), never by adding up periods or waits, so
// neither a rate whose period is not a whole number of nanoseconds nor a
// Sink that takes part of each period makes the frames drift. The player
// has one goroutine, the caller's; it waits on one time.Timer, stopped
// when Run returns.
//
// Lateness is how long after its deadline a frame starts to be rendered.
// A frame more than one period late is not played: the player moves to
// the latest frame whose deadline has passed and counts those it passed
// over (Stats.Skipped), so a stall costs frames, not a backlog played
// fast. The lateness of the last JitterWindow frames is kept in a ring;
// Stats sorts a copy of it for the nearest-rank p50 and p99 and the
// maximum. A Sink error is counted and kept (Stats.SinkErrors,
// LastSinkError) and the player keeps its rate: an output that fails one
// frame may take the next, and whether a failing output must stop the
// show is the caller's decision, made from Stats or in the Sink. Run
// returns nil when its context is done, after the Sink call in progress.
// A frame costs no allocation.
package dreamscape
