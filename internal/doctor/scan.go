package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sleegation/podd/api"
	"github.com/sleegation/podd/configs"
)

// Found is one address scan reports: what answers there, how it was told,
// and what the configuration puts there.
type Found struct {
	Bus string `json:"bus"`
	// Address is the 7-bit I²C address; 0 for a chip on an SPI port.
	Address uint16 `json:"address"`
	// Chip is the chip identified; "" when nothing answers, or a chip
	// none of the pod's.
	Chip string `json:"chip,omitempty"`
	// How says which registers read what, or what was read, or that
	// nothing answered.
	How string `json:"how"`
	// Expected is the chip the configuration puts here and its key; ""
	// when none.
	Expected string `json:"expected,omitempty"`
	// Verdict: pass (the chip expected), fail (another chip, or nothing,
	// where one is expected), warn (a known chip the configuration does
	// not name).
	Verdict Verdict `json:"verdict"`
}

// ErrPoddRunning is why scan refuses while podd runs: podd holds the
// buses, and a merge may be under way.
var ErrPoddRunning = errors.New("podd is running and holds the buses")

// Scan probes, on the configuration's I²C buses (or only on bus, a
// periph name, when not ""), only the addresses of KnownAddresses, and,
// without bus, the ADS1299 on its configured SPI port. Addresses where
// nothing answers and nothing is expected are left out. It refuses, with
// an error wrapping ErrPoddRunning, while podd runs (its API answers), and
// with an error when podd's state cannot be told.
func (d *Doctor) Scan(ctx context.Context, bus string) ([]Found, error) {
	st, state, sock := d.socket(ctx)
	switch state {
	case podUp:
		return nil, fmt.Errorf("%w%s: stop it first (sudo systemctl stop podd), or read podctl status, which lists the health of podd's sensors", ErrPoddRunning, sessionNote(st))
	case podUnknown:
		return nil, fmt.Errorf("cannot tell whether podd runs, so the buses are left alone: %s", sock.Detail)
	}
	hw, err := d.claimHardware()
	if err != nil {
		return nil, err
	}
	defer hw.Close()
	return scan(d.Config, hw, bus)
}

func sessionNote(st api.Status) string {
	if st.Session != nil {
		return fmt.Sprintf(" (merge %s is %s)", st.Session.ID, st.Session.State)
	}
	return ""
}

func scan(cfg *configs.Config, hw Hardware, only string) ([]Found, error) {
	devs := devices(cfg)
	var buses []string
	for _, dv := range devs {
		if dv.addr != 0 && !slices.Contains(buses, dv.bus) {
			buses = append(buses, dv.bus)
		}
	}
	if only != "" {
		buses = []string{only}
	}
	pca := uint16(0)
	if cfg.Lights.PCA9685.Enabled {
		pca = uint16(cfg.Lights.PCA9685.Address)
	}
	var out []Found
	for _, name := range buses {
		b, err := hw.I2C(name)
		if err != nil {
			return out, fmt.Errorf("I2C bus %s: %w", name, err)
		}
		for _, addr := range KnownAddresses(pca) {
			f := Found{Bus: name, Address: addr}
			var want *device
			for i, dv := range devs {
				if dv.addr == addr && dv.bus == name {
					want = &devs[i]
				}
			}
			if want != nil {
				f.Expected = fmt.Sprintf("%s (%s)", want.chip, want.key)
			}
			id, err := ProbeI2C(b, addr, pca)
			switch {
			case err == nil:
				f.Chip, f.How = id.Chip, id.How
			case errors.Is(err, ErrNoAnswer):
				if want == nil {
					continue
				}
				f.How = "no answer"
			default:
				f.How = err.Error()
			}
			f.Verdict = judgeFound(f, want)
			out = append(out, f)
		}
	}
	if only == "" {
		for _, dv := range devs {
			if dv.chip != ChipADS1299 {
				continue
			}
			f := Found{Bus: dv.bus, Expected: fmt.Sprintf("%s (%s)", dv.chip, dv.key)}
			port, err := hw.SPI(dv.bus)
			if err == nil {
				var id Identity
				if id, err = ProbeADS1299(port); err == nil {
					f.Chip, f.How = id.Chip, id.How
				}
			}
			if err != nil {
				f.How = err.Error()
			}
			f.Verdict = judgeFound(f, &dv)
			out = append(out, f)
		}
	}
	return out, nil
}

func judgeFound(f Found, want *device) Verdict {
	switch {
	case want == nil:
		return Warn
	case f.Chip == want.chip:
		return Pass
	}
	return Fail
}
