// Package journal is the pod's local store: one bbolt file that owns the
// outbox (every telemetry and event record between its creation and the
// broker's acknowledgement), the per-pod sequence counter, and the latched
// abort. It knows nothing of MQTT or of the payloads' format; it must not be
// used for raw biometric waveforms, which never leave memory.
//
// # Durability rules
//
//   - Every write is one bbolt read-write transaction, committed with fsync
//     before the call returns: a record returned by Append survives a power
//     cut from that moment on.
//   - The sequence counter lives in the same file and is advanced in the same
//     transaction as the record that uses it, so a seq is never reused across
//     restarts and never points at a record that was not stored. Numbering
//     starts at 1. If the payload builder fails, the transaction is rolled
//     back: no record is stored and the seq is not consumed, so the next
//     Append gets it and the hub sees no gap.
//   - A record leaves the outbox only through Delete (after the broker
//     acknowledged it) or when the outbox is full: then Append deletes the
//     oldest records in a batch (see Options.MaxOutbox) and returns their seq
//     range in Record.Dropped, so the caller can report the gap with a
//     "dropped" event. The batch leaves room for that report.
//   - Values read from bbolt are only valid inside their transaction; every
//     value returned by this package is a copy.
//   - A record that cannot be decoded does not stop the others: Pending
//     returns it in its place with Record.Corrupt set, and the caller reports
//     and deletes it.
//
// Keys in the outbox are big-endian uint64 seqs, so cursor order is seq order.
//
// # A journal that opens later
//
// The daemon must run its safety watchdog and its uplink even when the file
// cannot be opened yet. A Slot stands in for the Store until one is handed
// over with Set: every call fails with ErrNotOpen until then, and with
// ErrClosed after Close (as every call on a closed Store does). Callers tell
// "try again later" from "stopping" with errors.Is.
package journal
