// Package ratelog is a log/slog Handler that keeps a repeating fault from
// flooding the pod's SD card. It wraps the daemon's real handler, decides for
// each record whether it is written or withheld, and says in the lines it does
// write how many were withheld. It owns only its budgets and counters: it does
// not format, buffer, reorder or delay records, and starts no goroutine.
//
// # Budgets
//
// A budget is a token bucket counted in lines: it holds up to a burst of
// lines, a written line spends one, and one line is earned back every
// interval, counted on the monotonic clock (time.Now), so a clock step at
// synchronisation neither opens nor closes a budget. A record is written only
// when both of its budgets allow it, and spends from both only when written:
//
//   - its message's budget, keyed on the record's Message (the constant string
//     at the call site, not its attrs, so "sensor fault" with a different err
//     is the same message): Options.Burst lines, then one per Options.Interval.
//     With the defaults an "oximeter FIFO overflow" on every 200 ms poll writes
//     10 lines, then 10 a minute, instead of 300;
//   - the global budget, shared by every message: Options.GlobalBurst lines,
//     then one per Options.GlobalInterval (120 a minute), so a fault that
//     produces many distinct messages cannot flood the card either.
//
// Children made with WithAttrs and WithGroup share their parent's budgets and
// counters: a message is the same message whichever logger writes it.
//
// # Errors
//
// Records at slog.LevelError and above are limited too, as their own messages:
// the same Message at Warn and at Error has two budgets, so warnings cannot
// spend an error's. Their budget is more generous (Options.ErrorBurst,
// Options.ErrorInterval: 30 lines, then 30 a minute), because an error is what
// a technician reads first after a night, and a storm around an abort (the
// abort, a store that will not persist the latch, its retries) must be kept
// whole as far as the card allows.
//
// Errors, and lines that report a per-message count (below), may also
// overdraw the global budget by Options.GlobalReserve lines, which must be
// earned back before anything else is written: a flood of lower-level lines
// can never hide an error or a count, and the card still sees at most
// GlobalBurst+GlobalReserve lines at once and one per GlobalInterval after
// that, whatever their levels. Past the reserve even these lines are withheld;
// their counts carry over.
//
// # What was withheld
//
// Withheld lines are counted, never silently lost, and the counts ride on
// lines that are written anyway, so reporting them costs the card no line:
//
//   - the next line of a message that is written carries suppressed=N, the
//     lines of that message its own budget withheld since its previous
//     written line;
//   - the next line written at all carries suppressed_global=N, the lines the
//     global budget withheld since the previous report (and the counts of
//     messages forgotten meanwhile, see below);
//   - the line that spends the last line of a message's budget carries
//     ratelimited=true, so a fault that is cut and then stops for good does
//     not read, on the card, as a fault that stopped when its lines did.
//
// The attrs are added at the top level even under WithGroup, so they read the
// same from every logger. Handler.Dropped is the total of withheld lines since
// New, for the daemon's metrics. A count is carried until it is handed to the
// wrapped handler; if that handler fails the write, the line and its count are
// that handler's to report.
//
// # Memory
//
// At most Options.MaxKeys messages (default 1024) are tracked, each costing
// about 150 bytes plus its message text when the text is not a constant.
// podd logs fewer than a hundred distinct messages; the room is for messages
// built from values. When a new message would exceed the bound, the message
// written or withheld least recently is forgotten: its pending count moves to
// suppressed_global, and if it comes back it starts again with a full budget,
// which the global budget still bounds.
package ratelog
