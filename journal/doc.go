// Package journal is the pod's local store: one bbolt file that owns the
// outbox (every telemetry and event record between its creation and the
// broker's acknowledgement), the per-pod sequence counter, the latched
// abort, the replay cache of the hub's commands and the hash-chained audit
// log, plus a small seq file beside it that outlives the store. It knows
// nothing of MQTT or of the payloads' format (except the latch and the
// audit entries it writes itself, below); it must not be used for raw
// biometric waveforms, which never leave memory.
//
// # Durability rules
//
//   - Every write but those of AppendLazy and Delete (see "Group commit") is
//     one bbolt read-write transaction, committed with fsync before the call
//     returns: a record returned by Append survives a power cut from that
//     moment on.
//   - The sequence counter lives in the same file and is advanced in the same
//     transaction as the record that uses it, so a seq never points at a
//     record that was not stored. Numbering starts at 1. If the payload
//     builder fails, the transaction is rolled back: no record is stored and
//     the seq is not consumed, so the next Append gets it and the hub sees no
//     gap. A committed seq is never reused, even when the file is lost: see
//     "Seqs".
//   - A record leaves the outbox only through Delete (after the broker
//     acknowledged it) or when the outbox is full (Options.MaxOutbox
//     records, or Options.MaxOutboxBytes bytes of values): then the append
//     deletes the oldest records in a batch, telemetry (AppendLazy's) first
//     and events (Append's) only once no telemetry is left, and returns
//     what it dropped in Record.Dropped (the first and last seq, how many,
//     and the events it kept between them, Dropped.Kept), so the caller can
//     report it with a "dropped" event. The batch leaves room for that
//     report. Telemetry is found through an index (the telemetry bucket:
//     the same seq keys), so a drop costs the records it drops, not the
//     events before them; a second cursor over the outbox follows the
//     telemetry taken and collects the events between, which is what
//     Kept costs. A reader of the report must not count the kept seqs as
//     gone (a hub that did would receipt an event it never received, and
//     the pod would delete it), so Kept lists every one, and to keep the
//     report within its room a drop stops in two steps: first the room
//     (the new record and its report fit), then the batch's target
//     (Options.MaxOutbox). Once there is room, the batch stops short of
//     its target before a record whose taking would bring more than 32
//     kept seqs inside its range (in the events step: before an event
//     below the range's end that would keep more than 32 records above
//     it). A drop that needs more to make room still lists every kept seq,
//     however many; its report may then not fit the room, and the drop
//     its append makes is reported in turn.
//     The counters of records and bytes are kept in meta beside the seq
//     counter, in the same transactions as the records. The Store keeps a
//     copy of the three as committed: read from the file at Open, after its
//     check and healing (see "Damage"), and set by each commit that
//     succeeded to what it wrote, never by one that failed or was rolled
//     back. AppendLazy decides from the copy, without a transaction, whether
//     its record fits or the batch must be committed now to drop; every
//     commit reads the counters from the file, which stays the truth (a
//     counter that fails its checksum is then found, as damage).
//   - Values read from bbolt are only valid inside their transaction; every
//     value returned by this package is a copy.
//   - Every stored record carries a CRC-32C of its seq and content, the
//     latch a CRC-32C of its document, each counter one of its key and value.
//     A record that cannot be decoded or fails its checksum does not stop the
//     others: Pending returns it in its place with Record.Corrupt set, never
//     as a record it is not, and the caller reports and deletes it. A latch
//     that fails is an error from Latch (the caller latches on it). A seq
//     counter that fails is damage (below): read wrong, it could reuse seqs.
//     The outbox's record and byte counters only steer what a full outbox
//     drops: one that fails, or disagrees with the records, is rewritten
//     from them at Open.
//
// Keys in the outbox are big-endian uint64 seqs, so cursor order is seq order.
//
// # Group commit
//
// A bbolt commit costs two fsyncs, on an SD card that wears with every one:
// a commit per telemetry record at 1 Hz and another per acknowledgement is
// about 240 a minute. So telemetry and deletions are committed in groups:
//
//   - AppendLazy gives the record its seq and payload at once and puts it in
//     an in-memory batch, in seq order. The batch is committed in one
//     transaction when its oldest record (or queued deletion) has waited
//     Options.CommitInterval (10 s: 6 commits, 12 fsyncs a minute at the
//     default rates), when it holds Options.MaxBatch records (256), with the
//     next Append, by Commit, and in Close (one transaction, not retried).
//     A writer goroutine owned by the Store runs the timer: Open starts it,
//     Close stops it and waits for it (stopc and donec, as etcd's backend).
//   - Append, for events (the safety events, and the dropped reports), is
//     durable: it commits the batch and then its own record in the same
//     transaction before it returns, so seqs are committed in order and an
//     event never waits behind telemetry.
//   - A record in the batch is not visible to Pending until committed: the
//     uplink sends only what is on disk. OutboxLen counts it. Committed is
//     closed by each commit, for the drainer to look again.
//   - A power cut loses at most the batch: telemetry of the last
//     CommitInterval, never sent, so the hub never saw its seqs. The store's
//     counter is the committed one, and the next start hands those seqs out
//     again, to other records: the one case where a seq is reused, allowed
//     because no record with it ever left the pod. The seq file's mark is
//     written, as for Append, inside the transaction that commits a seq
//     above it and before its commit.
//   - Delete only queues the deletions: Pending and OutboxLen leave the
//     records out at once, so the drainer does not send them again, and
//     they are deleted in the next commit. Once MaxBatch are queued, the
//     writer goroutine commits them at once; Delete never commits itself,
//     so the uplink's drainer, which calls it for every acknowledgement,
//     never waits for two fsyncs with its window idle. A deletion lost in a
//     power cut is a record sent again after the restart, a duplicate the
//     hub drops.
//   - A commit that fails (a full disk: ENOSPC) commits nothing and leaves
//     the batch and the deletions queued, to be retried at the next commit
//     (the writer tries again after CommitInterval). After a failed commit,
//     AppendLazy commits the batch before it queues, and while that fails
//     it returns the commit's error and queues nothing, as Append fails:
//     the caller then knows and reports the record lost (the controller reports refused telemetry in
//     a dropped event). A batch that Close cannot commit is lost, and Close's
//     error says which seqs. The batch commit runs under the same damage
//     handling as every method: damage found by it marks the Store damaged,
//     and the batch is lost with the store, as in a power cut.
//   - When the outbox is full, AppendLazy commits at once, as Append, so the
//     caller gets Record.Dropped to report.
//
// Files from before the checksums (format 1) are upgraded by Open: counters
// and latch are rewritten with theirs, and the version 1 records already
// stored are still read, without a checksum to check. The seq the upgrade
// happened at is kept: a version 1 record at or above it is corrupt. Files
// from before the telemetry index (format 2, and format 1 after the above)
// are upgraded by Open to format 3: an empty index and the byte counter,
// counted from the records. Their records count as events, kept until no
// telemetry is left, since the journal cannot tell what they were.
//
// # Damage
//
// The file is on an SD card that loses power mid-write. bbolt turns many
// kinds of damage into panics, and reads its file through a memory map, so a
// file cut short is a SIGBUS (etcd-io/bbolt issues 325, 537). No damage
// stops the pod:
//
//   - Open locks the file, then checks it page by page with ordinary reads,
//     before bbolt maps it: both meta pages (one that fails its checksum is
//     bbolt's own recovery from a commit cut short, not damage), the one
//     bbolt will use chosen as bbolt chooses it (the valid one with the
//     higher txid) and naming the file's page size, the file long enough
//     for every page the meta page counts, every page of the tree and the
//     freelist within bounds, of the right type and id, referenced once,
//     never both in use and free, every element, key and value within its
//     page, keys in order, and no page lost (what bbolt's tx.Check checks,
//     and the bounds it assumes). The check's cost is bounded by the file,
//     not by what its pages claim: more elements than the file's size / 16
//     (inline buckets sharing their bytes), a key longer than bbolt's
//     maximum, or an inline bucket larger than a page is damage, and a run
//     of overflow pages is never read whole (only its element array, keys
//     and buckets), so a huge sparse file costs no memory. It then checks the
//     counters, that no record is at or above the next seq, and the next
//     seq against the seq file. The record and byte counters and the
//     telemetry index are checked against the records (a walk of the
//     outbox), and healed rather than called damage when they disagree:
//     see audit in store.go for why. bbolt's tx.Check itself is not used: it
//     runs in a goroutine of its own, where a fault cannot be caught. Open
//     reports damage as an error wrapping ErrDamaged.
//   - Every exported method of Store that reads or writes the file (all but
//     Damaged, Damage and Committed), and Open, OpenOrRecover and Reopen,
//     sets runtime/debug.SetPanicOnFault(true) on entry and restores the
//     previous value on return: the setting is per goroutine, and bbolt runs
//     on the caller's, so each entry point sets it for itself. The writer
//     goroutine (see "Group commit") sets it for its life, and its commits
//     are guarded as the methods are. A fault on the map
//     then is a panic, and every panic inside bbolt is recovered at the
//     method's boundary and returned as an error wrapping ErrDamaged. A panic
//     in the caller's build function is returned as an error, not damage.
//   - A Store that found damage fails every later call with ErrDamaged at
//     once, without touching the file again, and closes Damaged. Its Close
//     waits for bbolt at most half a second: a panic inside bbolt can leave
//     its locks held forever, and then the file lock is released explicitly
//     (bbolt's map holds the open file description, so closing the
//     descriptor alone would not release it) and the descriptor closed under
//     bbolt. The goroutine waiting for bbolt's locks, and bbolt's map, are
//     left behind: a call still inside bbolt may read the map, so it is not
//     unmapped.
//
// # Recovery
//
// OpenOrRecover opens the file as Open does; on ErrDamaged it renames the
// file to path + ".damaged-" + a UTC timestamp (never deleted: it is for a
// technician), and puts in its place a fresh store, built whole under
// path + ".new" and then renamed, so that a power cut leaves either the
// damaged file or no file, never a fresh store without its latch. The fresh
// store starts latched: its latch is {"rule": "store_damaged", "detail":
// ..., "at": ...}, the shape of safety.Abort, the detail naming where the
// damaged file went, so the pod restores it at start and stays in its safe
// state until a technician acknowledges. A store file that is missing or
// empty while its seq file exists is damage too: it may have held a latch.
// The caller logs the Recovery, and reports it: a fault naming the store and
// where the file went, and a dropped event for Recovery.Lost.
//
// Damage found after Open (a fault, a bbolt panic, a counter failing its
// checksum) marks the Store damaged and closes Damaged. Its owner then calls
// Reopen, which closes it and opens the file again: a file that passes the
// check is reopened as it is; a damaged one is set aside as above, but the
// fresh store holds the latch the Store last read or wrote. The running pod
// read its latch at start and knows it, so nothing of it was lost, and
// Reopen must not latch a pod that was not (the pod would learn of that
// latch only at its next start). The store_damaged latch is written only
// when the Store never read its latch, or when the seqs are unknown. A Slot
// takes the new Store with Replace.
//
// # Seqs
//
// The hub deduplicates on (pod, seq): a seq used twice loses the second
// record. So a seq must never be reused, even by a fresh store after the
// file was lost. The seq file (path + ".seq", 33 bytes with a CRC-32C,
// replaced atomically: write a temporary file, fsync, rename, fsync the
// directory) holds a reservation. Anything at that path other than a regular
// file of exactly 33 bytes (a symbolic link, a FIFO, a device, a file of
// another size) is a damaged seq file, neither followed, waited on, nor
// read whole. Seqs stay below 2^53: a seq file whose mark is not is damaged
// (so the counter never wraps), and an Append that would reserve seqs up to
// 2^53 or beyond fails instead:
//
//   - mark: no seq above it was committed. Before a transaction commits a
//     seq above the mark, it writes a new mark, at least seq + SeqBlock - 1
//     (1000 by default) and at least the last seq of the batch, inside the
//     transaction and before its commit: one small write per thousand
//     records, and a power cut leaves the mark ahead of the store, never
//     behind. Seqs of AppendLazy still in the batch may be above it: they
//     are reserved when committed, and one lost uncommitted was never seen.
//   - base, the next seq when the mark was written: a store whose counter is
//     below it is an older copy of the file, which would hand out seqs again;
//     Open reports it as damage.
//   - pending, the oldest seq still in the outbox then: every seq below it
//     had left the outbox (delivered, or reported dropped).
//
// Open of a sound store whose seq file is missing (a file from before seq
// files), damaged or behind, rewrites it from the store. A fresh store
// numbers from the mark + 1, skipping at most one block: Recovery.NextSeq,
// and Recovery.Lost = [pending, mark] holds every seq of the damaged store
// that may never reach the hub (its unsent records, and the reserved seqs it
// never used). The hub sees that gap; it is expected after a recovery, and
// the caller reports it with a "dropped" event from Lost.From to Lost.To.
//
// When the seq file is missing or damaged too, there is no safe floor, and
// the journal does not guess one. The store's own counter is lost with it;
// the wall clock is no bound (a Pi boots at 1970, and a clock stepped back,
// or a synchronisation that lies, would make a floor from it reuse seqs);
// a guess that is too low loses records at the hub silently. The fresh store
// then starts latched with the problem named in the latch's detail, and
// hands out no seq at all: Append and NextSeq fail with ErrSeqUnknown (the
// pod keeps what it can in memory, as for any store that refuses writes)
// until a technician, having asked the hub for the highest seq it holds from
// the pod, calls SetSeqFloor above it. Deleting both the store and its seq
// file is how a technician declares the pod new: numbering then starts at 1.
//
// # The replay cache
//
// The jti bucket holds the jti of every signed command the pod accepted,
// each until its exp, so that a command replayed after a restart is still
// refused (hubcmd's ReplayCache; ReplayCache here, over a Slot, so that it
// follows the Store the Slot holds after a Reopen). Each Seen is one write
// transaction, committed with fsync before the command is acted on: it
// deletes the entries whose exp is at or before now, reports whether the jti
// is held, and records it. Commands are a handful a night, so the walk of
// the bucket (at most ReplayLimits.Capacity entries, 1024) and the fsync per
// command cost nothing that matters, and no separate index by exp is kept.
// The cache is bounded as hubcmd's memory cache is: when Capacity unexpired
// jtis are held, Seen refuses (ErrReplayFull) rather than forget one. The
// bucket is created by Open when missing (a file of an earlier podd, which
// kept its jtis in memory) without changing the format.
//
// An entry carries a CRC-32C of its key and value. One that fails it tells
// neither which jti it was (the key may be what changed) nor until when it
// is needed, so it cannot simply count as "seen": a replay of the jti it
// was would pass. Instead it is deleted and the bucket marks every jti
// unknown from now (a key no jti can be, holding the time): until
// ReplayLimits.Lifetime (hubcmd.MaxRemainingLife) has passed, by when every
// command accepted before has expired, Seen refuses every jti
// (ErrReplayUnknown). The fresh store put in place of a damaged file starts
// with the same mark, undated: the first Seen dates it by its own clock,
// not the recovery by the clock at boot, which on a Pi after a power cut
// is behind until NTP steps it (the verifier calls Seen only with the clock
// synchronised), so the mark lasts a Lifetime of true time. A refusal costs the hub
// a retry ten minutes later; the pod's verifier still acts on merge/abort,
// which needs no replay check, so no refusal makes the pod less safe. The
// same holds while the Slot has no open Store, or a damaged one: Seen
// fails, and only merge/abort is acted on.
//
// # Audit log
//
// The audit bucket is a hash-chained log of what the pod must be able to
// account for (every command received, consent changes, panics, aborts,
// acknowledgements, the configuration at start: the caller decides which
// events are audited). Keys are big-endian uint64 entry numbers n from 1;
// an entry is the JSON object, written by encoding/json in this order,
//
//	{"n":N,"prev":"<hex SHA-256>","ts":"<RFC 3339, UTC, nine digits>","seq":S,"type":"<event type>","fields":{...}}
//
// with seq the outbox record that reported it (left out when none) and
// fields the event's fields. An entry's hash is the SHA-256 of its exact
// stored bytes, and prev is the hash of the entry before it; the first
// entry of a chain holds 64 zeros. AppendAudited writes the entry and the
// event that reports it in one transaction, durably as Append, and hands
// the entry's link (n, prev, hash) to the event's build, so the event
// carries it: what the pod sent the hub pins the chain, and the hub can
// check the links between the events it holds. A build that fails stores
// neither. ClearLatchAudited is AppendAudited that also deletes the latch
// in that transaction (a local acknowledgement): the latch is never gone
// from the file without the entry that records who cleared it, and a
// commit that fails leaves all three as they were.
//
// Where the chain stands is not kept as a counter: each append reads the
// last entry (bbolt's cursor, in the write transaction) and hashes it, so
// there is nothing to disagree with the entries or to heal at Open. The
// log is bounded (Options.MaxAuditEntries, 20000): the append that passes
// the bound deletes the oldest entries in its transaction and moves the
// anchor (meta's audit_anchor, JSON behind a CRC-32C) to the last one
// deleted, n and hash; the first entry kept must hold the anchor's hash as
// prev. Each entry deleted is checked against the anchor first, as
// VerifyAudit checks, and the first break found in what is pruned is kept
// in the anchor, so pruning never hides one.
//
// VerifyAudit walks the kept chain from the anchor and reports the first
// broken link: an entry that is not one (bad JSON, a field missing), one
// whose n is not its key, a gap (missing entries), or a prev that is not
// the hash of the entry before. A broken chain is not damage: the store
// works on, and the report is evidence for a technician. What the pod
// alone cannot see: a change to the last entry (nothing after it holds its
// hash; the hub does, from its event), and entries cut from the end (the
// hub sees the numbers stop).
//
// A file without the bucket (a new one, or one written before the audit
// log) gets it at Open; its chain starts at 1. A fresh store that
// OpenOrRecover or Reopen put in place of a damaged one starts a new
// chain, whose entry 1, written with the fresh store, is of type
// chain_restarted: the damaged store's path, where it was moved, the
// damage, the next seq. The old chain stays in the damaged file.
//
// # History
//
// The history is the pod's own record of its nights, for the technician's
// session report and event list (the local API); it never goes to the
// broker. Two buckets, history_vitals (downsampled points) and
// history_events (a copy of each event), hold entries keyed by a
// big-endian seq of their own, from 1, given at commit in the order
// stored; meta's history_vitals_next and history_events_next counters keep
// a bucket that pruning emptied from reusing them (a counter that fails
// its checksum is rebuilt from the last key: it only orders entries, and
// is not damage). A reader's cursor is the last seq it saw. An entry is
// its time (Unix ns), its type, the session under way and the caller's
// JSON, behind a CRC-32C; one that fails it is skipped by readers and
// pruned when it comes first. Derived values only: the rule against raw
// waveforms holds here too, and an entry is at most MaxHistoryValue bytes.
//
// History never delays the safety path or the outbox:
//
//   - AppendHistory encodes the entry and queues it under qmu, which is
//     never held across a transaction; it never takes wmu, which a commit
//     holds through its fsyncs. At most MaxHistoryQueue entries wait; past
//     that an entry is dropped and counted (HistoryStats.DroppedFull), so
//     a store that hangs costs memory for MaxHistoryQueue entries and no
//     more.
//   - The queue is committed by the group commits only (the writer's at
//     CommitInterval, Commit, AppendLazy's at MaxBatch, Close), in the same
//     transaction as the batch and the deletions: no fsync of its own.
//     An Append's transaction (an event's, a safety event's) carries none
//     of it, and the queue waits for the next group commit.
//   - A commit that fails lets the history it took go (DroppedFailed)
//     rather than queue it again; the batch of AppendLazy stays for the
//     retry as before. The history never fails the commit itself: an
//     entry it cannot write (a bucket gone or damaged) is let go and
//     counted in DroppedFailed, and the outbox's batch commits.
//
// Bounds: each commit prunes each bucket, oldest first, of the entries
// older than Options.HistoryRetention (14 days by default, 1 h..90 d) by
// the Store's clock and those beyond MaxHistoryVitals or
// MaxHistoryEvents, at most 4096 a commit. Seqs are consecutive (stored in
// order, pruned from the front), so a bucket's count is its last seq less
// its first plus one, without a counter. Entries are in the order stored,
// not sorted by time: pruning stops at the first entry within the
// retention and not dated after the Store's clock (a minute allowed), so
// entries stored while the clock ran ahead are pruned as expired once it
// steps back; a Pi that stored entries at 1970 before its clock was set
// has them pruned at the next commit. A key that is no entry's (damage)
// is deleted by the pruning wherever it lies.
// At the defaults a vitals point of ~300 bytes every 10 s is about 36 MB
// for 14 days.
//
// History reads a bucket from a seq on (the cursor) and filters by time,
// type and session as it walks, at most MaxHistoryReply entries a call.
// OpenHistoryReader reads the history of a file no daemon holds: a shared
// lock (a running podd holds it exclusively: ErrInUse after the timeout),
// the same page check as Open, and bbolt read-only.
//
// # A journal that opens later
//
// The daemon must run its safety watchdog and its uplink even when the file
// cannot be opened yet. A Slot stands in for the Store until one is handed
// over with Set: every call fails with ErrNotOpen until then, and with
// ErrClosed after Close (as every call on a closed Store does). Callers tell
// "try again later" from "stopping" with errors.Is.
package journal
