package controller

import (
	"time"

	"github.com/sleegation/podd/journal"
	"github.com/sleegation/podd/uplink"
)

// postConfig queues the audited "config" event of a start: the software's
// version and the effective configuration. Run posts it first, so it is
// the first event of the start that the store gets.
func (p *Pod) postConfig() {
	settings := p.cfg.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	p.post(uplink.Event{Type: "config", Fields: map[string]any{"version": p.cfg.Version, "settings": settings}, Audit: true}, time.Now())
}

// Audit checks the store's audit log (see journal.Store.VerifyAudit): its
// extent and its first broken link. It fails while the store is not open.
func (p *Pod) Audit() (journal.AuditReport, error) {
	return p.parts.Store.VerifyAudit()
}
