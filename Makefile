# ctl — make help lists the targets.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/ctl-dev/ctl/cmd.Version=$(VERSION)
TOOLS := -modfile=tools/go.mod
BIN := bin

.PHONY: help build install demo test tools deps lint unit docs bench fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

build: ## build bin/ctl
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ctl .

# Where make install puts ctl: $GOBIN as go install would, else ~/.local/bin
# (on PATH in most Linux desktop shells). make install INSTALL_DIR=... to choose.
INSTALL_DIR ?= $(or $(GOBIN),$(shell $(GO) env GOBIN),$(HOME)/.local/bin)

install: build ## copy bin/ctl to $GOBIN, else ~/.local/bin (INSTALL_DIR=... to choose)
	install -d "$(INSTALL_DIR)"
	install -m 0755 $(BIN)/ctl "$(INSTALL_DIR)/ctl"
	@echo "installed $(INSTALL_DIR)/ctl"
	@case ":$$PATH:" in *":$(INSTALL_DIR):"*) ;; *) echo "note: $(INSTALL_DIR) is not on your PATH; add it, e.g. in ~/.profile: export PATH=\"$(INSTALL_DIR):\$$PATH\"";; esac

demo: build ## run the registry lab against a local registry it starts itself (builds only ctl, the registry and crane)
	CTL=$(CURDIR)/$(BIN)/ctl scripts/demo.sh

test: tools deps lint unit ## everything CI runs: lint, unit and end-to-end tests

tools: ## build the pinned registry, crane and staticcheck (go tool, tools/go.mod)
	scripts/tool.sh registry crane staticcheck >/dev/null

deps: ## install the Debian packages the tests use when missing (podman, skopeo, bzip2, bash-completion)
	scripts/install-deps.sh

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool $(TOOLS) staticcheck ./...

unit: ## unit and end-to-end tests (the e2e ones start real registries)
	$(GO) test -count=1 -timeout 30m ./...

docs: ## regenerate the command reference in docs/reference
	$(GO) run ./internal/gendocs -out docs/reference

# Iterations of each whole-command benchmark (bench/): make bench BENCHTIME=20x
# for steadier figures.
BENCHTIME ?= 3x

bench: tools ## benchmarks (pkg/ in Go, bench/ whole commands against crane, oras, regctl), table written into bench/README.md
	@mkdir -p $(BIN)
	set -o pipefail; load="$$(cat /proc/loadavg)"; \
	{ $(GO) test -run '^$$' -bench . -benchmem ./pkg/... && \
	  $(GO) test -run '^$$' -bench . -benchtime $(BENCHTIME) -timeout 60m ./bench/...; } | tee $(BIN)/bench.txt && \
	$(GO) run ./internal/benchtable -in $(BIN)/bench.txt -readme bench/README.md -load "$$load" -benchtime $(BENCHTIME)

fuzz: ## fuzz the parsers: references (2 minutes), versions, Dockerfiles and pin (30 s each)
	$(GO) test -run '^$$' -fuzz FuzzParseDifferential -fuzztime 2m ./pkg/reference
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./pkg/semver
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./pkg/dockerfile
	$(GO) test -run '^$$' -fuzz FuzzPin -fuzztime 30s ./pkg/golden

clean: ## remove build output
	rm -rf $(BIN)
