# podd: the Sleegation pod controller. `make run` and `make test` are the whole set-up.
SHELL    := bash
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# Each evaluated once (:=), unless set in the environment or on the command line.
ifeq ($(origin COMMIT),undefined)
COMMIT   := $(shell git rev-parse HEAD 2>/dev/null)
endif
# The build's time, or SOURCE_DATE_EPOCH's for a reproducible build.
ifeq ($(origin BUILD_DATE),undefined)
BUILD_DATE := $(shell date -u -d @$${SOURCE_DATE_EPOCH:-$$(date +%s)} +%Y-%m-%dT%H:%M:%SZ)
endif
BUILDINFO := github.com/sleegation/podd/internal/buildinfo
# podd --version, podctl version and the status's version come from these (internal/buildinfo).
LDFLAGS   = -s -w -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT) -X $(BUILDINFO).date=$(BUILD_DATE)
BIN      := bin
CMDS     := podd podctl hubctl
# Cross-compiled targets: GOARCH[/GOARM], for Raspberry Pi class boards and amd64.
TARGETS  := arm64 arm/7 arm/6 amd64

.PHONY: all build run test hwtest boottest contract bench lint fuzz cross deb deps clean

all: lint test build

build:
	@mkdir -p $(BIN)
	$(foreach c,$(CMDS),$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/$(c) ./cmd/$(c) &&) true

# A pod with simulated hardware reporting to an embedded broker on 127.0.0.1:1883.
# Watch it with: mosquitto_sub -h 127.0.0.1 -t 'sleegation/#' -v
# If a broker already listens there (Debian's mosquitto service, say), podd reports to it instead.
run: build
	@mkdir -p var
	@if (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then \
	  echo "a broker already listens on 127.0.0.1:1883: podd reports to it instead of starting its own"; \
	  export PODD_UPLINK_BROKER=$${PODD_UPLINK_BROKER:-tcp://127.0.0.1:1883}; \
	fi; exec ./$(BIN)/podd --config configs/sim.yaml

# The integration tests need a real mosquitto; deps installs it when missing.
# The tests run twice: with the race detector, and built for armv7 (32 bits,
# as the armv6/armv7 pods are) under qemu-user's qemu-arm; the end-to-end
# tests skip there with -short. The contract's AsyncAPI document is checked
# first (make contract: it needs Node.js and npm). The status page is tested
# in headless Chromium (deps installs Debian's chromium):
# REQUIRE_CHROMIUM=1 makes a missing browser fail that test rather than
# skip it.
#
# Many test binaries spend most of their time waiting on the real clock (a
# daemon restarted, a broker reconnecting, a sensor's first minute), so
# TESTP of them (go test -p) run at once, not one per core.
TESTP ?= 4
test: deps contract
	$(GO) vet ./...
	REQUIRE_CHROMIUM=1 $(GO) test -race -count=1 -p $(TESTP) -timeout 9m ./...
	GOARCH=arm GOARM=7 CGO_ENABLED=0 $(GO) test -short -count=1 -p $(TESTP) -timeout 8m -exec qemu-arm ./...

# podd's linux mode on Debian's kernel in QEMU, with emulated I2C, SPI and
# GPIO (hwtest/run.sh; README, "Hardware test"). It installs nothing: it
# names the Debian packages it misses.
hwtest:
	GO=$(GO) hwtest/run.sh

# The Debian package on a booted systemd: podd under its own hardened unit
# in QEMU (packaging/boottest.sh; README, "Boot test"). Needs root and
# debootstrap; it names the Debian packages it misses.
boottest:
	GO=$(GO) packaging/boottest.sh

# The MQTT contract (contract/asyncapi.yaml) validated by the AsyncAPI
# project's parser, pinned in contract/package-lock.json; the schemas are
# checked against what the pod emits by go test ./contract.
contract:
	scripts/asyncapi-validate.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# staticcheck comes from the Go module proxy at a pinned version.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags hwtest ./cmd/podd
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags hwtest ./cmd/podd

# Short runs of every fuzz target (go test -fuzz takes one target at a time).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

cross:
	@set -e; for t in $(TARGETS); do \
	  arch=$${t%%/*}; arm=; case $$t in */*) arm=$${t#*/};; esac; \
	  out=$(BIN)/linux-$$arch$${arm:+v$$arm}; mkdir -p $$out; \
	  for c in $(CMDS); do \
	    CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=$$arm $(GO) build -ldflags '$(LDFLAGS)' -o $$out/$$c ./cmd/$$c; \
	  done; echo "built $$out"; \
	done

# Debian packages for every cross target, as bin/deb/podd_VERSION_ARCH.deb:
# one Debian architecture per target (armv6 is armel, armv7 armhf), so no
# two share a file name. packaging/build-deb.sh runs nfpm from the Go module proxy.
NFPM     := github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
# Debian versions start with a digit; a release sets DEBVERSION.
DEBVERSION ?= 0.0~git$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DEBARCH  := arm64:arm64 arm/7:armhf arm/6:armel amd64:amd64
# The packaged binaries say the package's version (podd --version, podctl version).
deb: VERSION = $(DEBVERSION)
deb: cross
	@set -e; for p in $(DEBARCH); do \
	  t=$${p%%:*}; arch=$${t%%/*}; arm=; case $$t in */*) arm=$${t#*/};; esac; \
	  NFPM="$(GO) run $(NFPM)" packaging/build-deb.sh $(BIN)/linux-$$arch$${arm:+v$$arm} $${p#*:} $(DEBVERSION) $(BIN)/deb; \
	done

deps:
	@pkgs=; \
	if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then pkgs=" mosquitto mosquitto-clients"; fi; \
	if ! command -v qemu-arm >/dev/null 2>&1; then pkgs="$$pkgs qemu-user"; fi; \
	if ! command -v chromium >/dev/null 2>&1; then pkgs="$$pkgs chromium"; fi; \
	if [ -n "$$pkgs" ]; then \
	  echo "installing$$pkgs (Debian packages)"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$pkgs >/dev/null; \
	fi

clean:
	rm -rf $(BIN) var
