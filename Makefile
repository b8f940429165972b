# vhold: every set-up step the build and the tests need lives here, so a fresh
# Debian machine with Go needs nothing but `make run` and `make test`.
GO      ?= go
BIN     := bin/vhold
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
export CGO_ENABLED := 1

.PHONY: all deps chromium build run demo test vet fmt-check bench sounds clean

all: build

# gcc for cgo (go-sqlite3 and the race detector). Installed only when missing.
deps:
	@command -v gcc >/dev/null 2>&1 || { \
		echo "installing gcc (cgo: SQLite and -race need it)"; \
		apt-get update -qq && apt-get install -y -qq gcc libc6-dev; }

# Chromium for the browser tests (web/browser_test.go drives it headless with
# chromedp). Installed only when missing; without apt-get, say how instead.
CHROMIUMS := chromium chromium-browser google-chrome google-chrome-stable
chromium:
	@for b in $(CHROMIUMS); do command -v $$b >/dev/null 2>&1 && exit 0; done; \
		if command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium (the browser tests drive it headless)"; \
			{ apt-get update -qq && apt-get install -y -qq chromium; } || { \
				echo "could not install chromium: run 'sudo apt-get install -y chromium', or make test as root" >&2; exit 1; }; \
		else \
			echo "the browser tests need Chromium and this system has no apt-get:" >&2; \
			echo "install chromium or google-chrome with its package manager (dnf install chromium, apk add chromium," >&2; \
			echo "brew install --cask chromium), or run go test -short ./... to skip the browser tests" >&2; \
			exit 1; \
		fi

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/vhold

# Runs vhold with the example config; the database lands in var/.
run: build
	@mkdir -p var
	VHOLD_STORE=var/vhold.db VHOLD_ARI_PASSWORD=$${VHOLD_ARI_PASSWORD:-vhold} VHOLD_ESL_PASSWORD=$${VHOLD_ESL_PASSWORD:-ClueCon} \
		$(BIN) serve -c configs/vhold.yaml

# The whole service on the in-memory switch with synthetic callers, in virtual
# time: no PBX needed.
demo: build
	$(BIN) demo --duration 4h

vet: deps
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

test: deps chromium vet fmt-check
	$(GO) test -race -count=1 ./...

# The figures in README.md come from this target. The last three lines hold
# 500 callers for about 30 s each: the vhold binary on the fake Asterisk, the
# FreeSWITCH adapter on the fake FreeSWITCH, and the vhold binary on the fake
# FreeSWITCH (one op is the whole run).
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./queue/ ./store/ ./pbx/pbxtest/
	$(GO) test -run '^$$' -bench 'Serve500HeldCallers$$' -benchtime 1x -count=1 ./cmd/vhold/
	$(GO) test -run '^$$' -bench 'Serve500HeldCallersFreeSWITCH$$' -benchtime 1x -count=1 ./cmd/vhold/
	$(GO) test -run '^$$' -bench 'HeldCallers500$$' -benchtime 1x -benchmem -count=1 ./pbx/freeswitch/

# The prompt audio, sounds/<lang>/<key>.wav, from sounds/catalog.yaml. The files
# are committed, so only a change to the catalog needs this. flite, espeak-ng
# and sox are installed when missing.
sounds:
	@for t in flite espeak-ng sox; do command -v $$t >/dev/null 2>&1 || missing=1; done; \
		if [ -n "$$missing" ]; then \
			echo "installing flite, espeak-ng and sox (prompt synthesis)"; \
			apt-get update -qq && apt-get install -y -qq flite espeak-ng sox; fi
	$(GO) run ./sounds/generate

clean:
	rm -rf bin var
