// Package buildinfo says which build of podd and podctl is running:
// its version, the commit it was built from and when.
//
// The Makefile sets the three values at link time (make build, cross and
// deb, so the Debian packages carry them too):
//
//	-X github.com/sleegation/podd/internal/buildinfo.version=v1.2.0
//	-X github.com/sleegation/podd/internal/buildinfo.commit=3890409...
//	-X github.com/sleegation/podd/internal/buildinfo.date=2026-11-30T10:40:00Z
//
// A binary built without them (go build, go run, go test) takes what the Go
// toolchain recorded (runtime/debug.ReadBuildInfo): the module's version
// when it was built as a dependency at a tagged version, and the VCS
// settings of a build inside a git checkout (vcs.revision, vcs.time, whose
// commit time then stands for the date, and vcs.modified). What neither
// source knows stays at its zero value: version "dev", commit and date "".
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the linker (see the package doc); empty when not.
var (
	version string
	commit  string
	date    string
)

// Info is one build's identity, as `podctl version --json` prints it.
type Info struct {
	// Version is the release (git describe: v1.2.0, v1.2.0-3-gabc1234,
	// with -dirty for a modified tree), or "dev" when unknown.
	Version string `json:"version"`
	// Commit is the full git commit hash; "" when unknown.
	Commit string `json:"commit,omitempty"`
	// Date is when it was built (RFC 3339, UTC), or, without the linker's
	// value, the commit's time; "" when unknown.
	Date string `json:"date,omitempty"`
	// Modified: built from a tree with uncommitted changes (known only
	// from the toolchain's VCS settings, or a version ending in -dirty).
	Modified bool `json:"modified,omitempty"`
	// Go is the toolchain's version (runtime.Version), OS/arch the
	// target's.
	Go   string `json:"go"`
	OS   string `json:"os"`
	Arch string `json:"arch"`
}

// Get returns this binary's build info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, date, bi)
}

// Version is Get().Version.
func Version() string { return Get().Version }

// resolve fills an Info from the linker's values, falling back to bi
// (nil when the binary has no build info).
func resolve(version, commit, date string, bi *debug.BuildInfo) Info {
	i := Info{Version: version, Commit: commit, Date: date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi != nil {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if i.Commit == "" {
					i.Commit = s.Value
				}
			case "vcs.time":
				if i.Date == "" {
					i.Date = s.Value
				}
			case "vcs.modified":
				i.Modified = i.Modified || s.Value == "true"
			}
		}
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	if strings.HasSuffix(i.Version, "-dirty") {
		i.Modified = true
	}
	return i
}

// String is the one line `podctl --version` and `podd --version` print:
// "v1.2.0 (commit 3890409, built 2026-11-30T10:40:00Z, go1.26.8 linux/arm64)",
// with a modified tree marked and what is unknown left out.
func (i Info) String() string {
	var parts []string
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified && !strings.HasSuffix(i.Version, "-dirty") {
			c += "+modified"
		}
		parts = append(parts, "commit "+c)
	}
	if i.Date != "" {
		parts = append(parts, "built "+i.Date)
	}
	parts = append(parts, fmt.Sprintf("%s %s/%s", i.Go, i.OS, i.Arch))
	return i.Version + " (" + strings.Join(parts, ", ") + ")"
}
