package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
	"github.com/sleegation/podd/journal"
)

// The clock's and the disk's limits.
const (
	// MinYear is the first year a synchronised clock may read: the
	// year before this code's; a Raspberry Pi without a real-time clock
	// boots at 1970.
	MinYear = 2025
	// MaxYear is the last year a sane clock reads.
	MaxYear = 2100
	// WarnFreeBytes and WarnFreeFraction: less free space than either on
	// the store's filesystem is a warning (the outbox may hold 96 MiB
	// while the hub is away).
	WarnFreeBytes    = 100 << 20
	WarnFreeFraction = 0.10
	// FailFreeBytes: less is a failure; the store's commits may fail
	// (ENOSPC), and the pod keeps its records in memory only.
	FailFreeBytes = 10 << 20
)

func (d *Doctor) checkClock() Result {
	const check = "clock"
	now := d.System.Now()
	synced, err := d.System.ClockSynced()
	switch {
	case err != nil:
		return fail(check, fmt.Sprintf("adjtimex: %v", err), "")
	case now.Year() < MinYear || now.Year() > MaxYear:
		return fail(check, fmt.Sprintf("the clock reads %s: not a sane time", now.UTC().Format("2006-01-02T15:04:05Z")),
			"enable NTP (sudo timedatectl set-ntp true) and let it reach its servers; a board without a real-time clock starts at 1970")
	case !synced:
		return fail(check, fmt.Sprintf("not synchronised (the kernel's STA_UNSYNC is set); it reads %s", now.UTC().Format("2006-01-02T15:04:05Z")),
			"enable NTP: sudo timedatectl set-ntp true, then timedatectl timesync-status; until then podd refuses the hub's signed commands (only merge/abort is obeyed)")
	}
	return pass(check, fmt.Sprintf("synchronised: %s", now.UTC().Format("2006-01-02T15:04:05Z")))
}

// existing is path, or its nearest ancestor that exists.
func existing(path string) string {
	p, err := filepath.Abs(path)
	if err != nil {
		p = path
	}
	for {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		up := filepath.Dir(p)
		if up == p {
			return p
		}
		p = up
	}
}

func (d *Doctor) checkDisk(cfg *configs.Config) Result {
	const check = "disk"
	dir := existing(filepath.Dir(cfg.Storage.Path))
	sp, err := d.System.Statfs(dir)
	if err != nil {
		return fail(check, fmt.Sprintf("statfs %s: %v", dir, err), "")
	}
	free := fmt.Sprintf("%s free of %s on the store's filesystem (%s)", mib(sp.Available), mib(sp.Total), dir)
	frac := 0.0
	if sp.Total > 0 {
		frac = float64(sp.Available) / float64(sp.Total)
	}
	switch {
	case sp.Available < FailFreeBytes:
		return fail(check, free, "free space: podd's store needs room to commit (journalctl --vacuum-size=50M, remove old *.damaged-* files beside the store once copied)")
	case sp.Available < WarnFreeBytes || frac < WarnFreeFraction:
		return warn(check, free, fmt.Sprintf("free space: less than %s or %.0f %% is left; the outbox grows while the hub is away", mib(WarnFreeBytes), WarnFreeFraction*100))
	}
	return pass(check, free)
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// checkStore checks the store: the journal's read-only check when podd
// is not running, podd's word when it is.
func (d *Doctor) checkStore(cfg *configs.Config, state podState, st api.Status) Result {
	const check = "store"
	path := cfg.Storage.Path
	const ackFix = "podd set the damaged file aside and started latched on a fresh store: once the pod is checked, podctl ack; keep the damaged file for the maker"
	switch state {
	case podUnknown:
		return skip(check, notChecked)
	case podUp:
		if l := st.Safety.Latched; l != nil && l.Rule == journal.RuleStoreDamaged {
			return fail(check, "podd found the store damaged: "+l.Detail, ackFix)
		}
		for _, p := range st.Parts {
			if p.Name == "store" && p.State != "up" {
				return fail(check, fmt.Sprintf("podd's store is %s: %s", p.State, p.Error), "journalctl -u podd; check the disk ("+path+")")
			}
		}
		return pass(check, fmt.Sprintf("open in podd and sound (%s)", path))
	}
	err := journal.Check(path)
	switch {
	case err == nil:
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			return pass(check, fmt.Sprintf("none yet at %s: podd creates it at its first start", path))
		}
		return pass(check, fmt.Sprintf("sound: every page checked (%s)", path))
	case errors.Is(err, journal.ErrDamaged):
		return fail(check, fmt.Sprintf("%s: %v", path, err),
			"start podd: it sets the damaged file aside ("+path+".damaged-<time>) and starts latched on a fresh store; then, once the pod is checked, podctl ack")
	case errors.Is(err, journal.ErrInUse):
		return warn(check, fmt.Sprintf("%s is open in another process, yet podd's API does not answer", path), "is another podd running on it with another api.socket? (fuser "+path+")")
	}
	return fail(check, fmt.Sprintf("%s: %v", path, err), "check the file's owner (podd) and mode")
}
