package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func vcs(rev, at, modified string) *debug.BuildInfo {
	return &debug.BuildInfo{Main: debug.Module{Path: "github.com/sleegation/podd", Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: at}, {Key: "vcs.modified", Value: modified},
	}}
}

// The linker's values win over the toolchain's.
func TestTheLinkersValuesWin(t *testing.T) {
	got := resolve("v1.2.0", "3890409aaaabbbbccccdddd", "2026-11-30T10:40:00Z", vcs("ffff", "2026-01-01T00:00:00Z", "false"))
	want := Info{Version: "v1.2.0", Commit: "3890409aaaabbbbccccdddd", Date: "2026-11-30T10:40:00Z", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if got != want {
		t.Fatalf("resolve = %+v, want %+v", got, want)
	}
	if s, w := got.String(), "v1.2.0 (commit 3890409aaaab, built 2026-11-30T10:40:00Z, "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+")"; s != w {
		t.Fatalf("String = %q, want %q", s, w)
	}
}

// Without the linker's values, a go build in a checkout says its commit,
// the commit's time and a modified tree.
func TestWithoutLdflagsTheVCSSettingsAreUsed(t *testing.T) {
	got := resolve("", "", "", vcs("0123456789abcdef0123", "2026-11-29T22:10:52Z", "true"))
	if got.Version != "dev" || got.Commit != "0123456789abcdef0123" || got.Date != "2026-11-29T22:10:52Z" || !got.Modified {
		t.Fatalf("resolve = %+v", got)
	}
	if s, w := got.String(), "dev (commit 0123456789ab+modified, built 2026-11-29T22:10:52Z, "+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+")"; s != w {
		t.Fatalf("String = %q, want %q", s, w)
	}
}

// A binary built as a dependency at a tagged version names it; one with no
// build info at all is "dev" with nothing else known.
func TestModuleVersionAndNoBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/sleegation/podd", Version: "v1.3.0"}}
	if got := resolve("", "", "", bi); got.Version != "v1.3.0" || got.Commit != "" || got.Date != "" || got.Modified {
		t.Fatalf("resolve(module v1.3.0) = %+v", got)
	}
	got := resolve("", "", "", nil)
	if got.Version != "dev" || got.Commit != "" || got.Date != "" {
		t.Fatalf("resolve(nil) = %+v", got)
	}
	if s, w := got.String(), "dev ("+runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+")"; s != w {
		t.Fatalf("String = %q, want %q", s, w)
	}
	if got := resolve("v1.2.0-3-gabc1234-dirty", "", "", nil); !got.Modified {
		t.Fatalf("a -dirty version is not marked modified: %+v", got)
	}
}
