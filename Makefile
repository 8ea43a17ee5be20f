# Ginflix. `make run` starts the platform, `make test` runs every test;
# both install what they need first. See README.md.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TOOLS := $(CURDIR)/.cache/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
VERSITYGW_VERSION := v1.8.0
export PATH := $(TOOLS):$(PATH)

.PHONY: run build web test test-deps system-deps bench bench-transcode bench-events kind-up kind-down check-go clean

check-go:
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go 1.26 or newer (https://go.dev/doc/install) and run make again." >&2; exit 1; }

build: check-go web
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ginflix ./cmd/ginflix

## web: build the viewer and admin apps into web/dist, which the binary embeds
web:
	@if command -v npm >/dev/null; then cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else echo "npm is missing: the binary is built without the web apps (install Node.js 20 and run make again)" >&2; fi

## run: build and start every role on http://127.0.0.1:8080 (data in ./data)
run: build system-deps
	$(BIN)/ginflix serve --demo

## system-deps: Debian packages Ginflix runs with (FFmpeg)
system-deps:
	@scripts/apt-install.sh ffmpeg=ffmpeg ffprobe=ffmpeg

## test-deps: what the tests need that Go modules do not bring
test-deps: check-go system-deps $(TOOLS)/versitygw
	@scripts/apt-install.sh nginx=nginx promtool=prometheus chromium=chromium

# versitygw (Apache-2.0) is the real S3 server the s3 package is tested against.
$(TOOLS)/versitygw:
	GOBIN=$(TOOLS) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

## test: install test dependencies, then run every test (the web apps are
## built first: deploy/k8stest's end-to-end test loads them from the binary)
test: test-deps web
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
	cd web && npm test

## bench: catalogue API vs bare net/http, HLS delivery vs nginx (see bench/README.md);
## the transcoding benchmark is separate: make bench-transcode (minutes of CPU)
bench: check-go
	@scripts/apt-install.sh nginx=nginx-light wrk=wrk
	$(GO) run ./bench/catalog
	$(GO) run ./bench/streamer

bench-transcode: check-go system-deps
	$(GO) run ./bench/transcode -runs 3

## bench-events: catalogue p99 while 500 player sessions post playback events (about 3 minutes)
bench-events: check-go
	$(GO) run ./bench/events

## verify-k8s-apiserver: server-side dry-run (strict validation) of every deploy/k8s
## kustomization against a real kube-apiserver and etcd, built once into .cache/k8s
## (about 15 minutes on 2 cores the first time); not part of make test
.PHONY: verify-k8s-apiserver
verify-k8s-apiserver: check-go
	deploy/apiserver/run.sh

## kind-up / kind-down: the distributed deployment on a local kind cluster (needs Docker and kind)
kind-up:
	deploy/kind/up.sh

kind-down:
	deploy/kind/down.sh

clean:
	rm -rf $(BIN) .cache
