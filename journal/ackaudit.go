package journal

import (
	"errors"
	"runtime/debug"
	"time"
)

// ClearLatchAudited is AppendAudited for the event that clears the latched
// abort (a local acknowledgement): in the one transaction that stores the
// record and its audit entry, it deletes the latch. Either all three are
// stored or none is: a failed commit (a full or failing disk, a build that
// fails, a record refused) leaves the latch set and no entry, and a power
// cut at any moment leaves one state or the other, never a latch cleared
// without its entry. Clearing when no latch is set is not an error. Durable
// as Append; the same errors as AppendAudited.
func (s *Store) ClearLatchAudited(topic string, created time.Time, entryType string, fields []byte, build func(seq uint64, link AuditLink) ([]byte, error)) (_ Record, err error) {
	if build == nil {
		return Record{}, errors.New("journal.ClearLatchAudited: nil build function")
	}
	if entryType == "" {
		return Record{}, errors.New("journal.ClearLatchAudited: empty entry type")
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer s.guard("ClearLatchAudited", &err)
	if err := s.usable("ClearLatchAudited"); err != nil {
		return Record{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	// Before the unlock: whoever waits for wmu must find the damage.
	defer s.guard("ClearLatchAudited", &err)
	rec, err := s.commitLocked(&urgent{topic: topic, created: created, clearLatch: true, audit: &auditAppend{typ: entryType, fields: fields, build: build}})
	if err != nil {
		return Record{}, s.opError("ClearLatchAudited", err)
	}
	return rec, nil
}

// ClearLatchAudited is Store.ClearLatchAudited; see there.
func (sl *Slot) ClearLatchAudited(topic string, created time.Time, entryType string, fields []byte, build func(seq uint64, link AuditLink) ([]byte, error)) (Record, error) {
	s, err := sl.get("ClearLatchAudited")
	if err != nil {
		return Record{}, err
	}
	return s.ClearLatchAudited(topic, created, entryType, fields, build)
}
