#!/usr/bin/env bash
# build-deb.sh BINDIR ARCH VERSION OUTDIR: the Debian package of the podd
# and podctl binaries in BINDIR, for Debian architecture ARCH (amd64, arm64,
# armhf, armel), as OUTDIR/podd_VERSION_ARCH.deb. Used by `make deb` and by
# the package's tests. NFPM is the nfpm command (default: nfpm from the Go
# module proxy at the Makefile's version).
set -euo pipefail
if [ $# -ne 4 ]; then
	echo "usage: $0 BINDIR ARCH VERSION OUTDIR" >&2
	exit 2
fi
bindir=$1 arch=$2 version=$3 out=$4
case $arch in
amd64|arm64|armhf|armel) ;;
*) echo "build-deb.sh: unknown Debian architecture $arch (amd64, arm64, armhf, armel)" >&2; exit 2 ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
nfpm=${NFPM:-go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}

# nfpm reads its sources relative to the working directory: a staging tree
# with the repository's files and the built ones under bin/stage.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in configs systemd packaging dreamscapes docs; do
	ln -s "$repo/$f" "$work/$f"
done
cp "$repo/README.md" "$work/"
mkdir -p "$work/bin/stage" "$out"
cp "$bindir/podd" "$bindir/podctl" "$work/bin/stage/"
gzip -9n <"$repo/packaging/changelog" >"$work/bin/stage/changelog.Debian.gz"
out=$(cd "$out" && pwd)
cd "$work"
ARCH=$arch VERSION=$version $nfpm package -p deb -f packaging/nfpm.yaml -t "$out/podd_${version}_${arch}.deb"
