# copytrade — build, test and run targets. `make help` lists them.
GO      ?= go
PKGS    := ./...
KITEX   := $(GO) tool kitex -module github.com/copytrade/copytrade -gen-path rpc/kitex_gen
IDLS    := $(wildcard rpc/idl/*.thrift)
FUZZTIME ?= 20s

.PHONY: help test verify gen bench fuzz dev chaos build sim security rules

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build the copytrade binary into bin/
	$(GO) build -o bin/copytrade ./cmd/copytrade

test: ## vet and the full test suite with the race detector
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 14m $(PKGS)

gen: ## regenerate Kitex code from rpc/idl
	@set -e; for f in $(IDLS); do echo "kitex $$f"; $(KITEX) $$f; done
	gofmt -w rpc/kitex_gen

verify: ## fail when gofmt, vet, go mod tidy or make gen would change anything, or the alert rules fail promtool
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet $(PKGS)
	$(GO) mod tidy && git diff --exit-code go.mod go.sum
	$(MAKE) gen && git diff --exit-code rpc/kitex_gen && test -z "$$(git status --porcelain rpc/kitex_gen)"
	$(MAKE) rules

PROMTOOL ?= promtool

rules: ## promtool check and unit-test the Prometheus alert rules (installs Debian's prometheus package when promtool is missing)
	@command -v $(PROMTOOL) >/dev/null 2>&1 || { echo "promtool missing: installing Debian's prometheus package"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }
	cd deploy/prometheus && $(PROMTOOL) check config prometheus.yml && $(PROMTOOL) check rules alerts.yml && $(PROMTOOL) test rules alerts_test.yml

BENCHTIME ?= 200ms
BENCH_SCENARIOS ?= latency,throughput,copiers,failover

bench: ## Go micro-benchmarks, then `copytrade bench` (report and charts into docs/bench/); ends with its summary line
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)
	$(GO) run ./cmd/copytrade bench --scenarios $(BENCH_SCENARIOS) --out docs/bench

fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for p in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz' || true); do \
	    echo "fuzz $$p $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p; done; done

DEV_ARGS ?=

dev: ## the whole system on loopback with a demo workload (HTTP=host:port serves its metrics; DEV_ARGS=... more flags)
	$(GO) run ./cmd/copytrade dev $(if $(HTTP),--http $(HTTP)) $(DEV_ARGS)

CHAOS_DURATION ?= 5m

chaos: ## long fault injection: kills, partitions, pauses, disk and clock faults against real processes, then exactly-once, hashes, ledgers and linearizability checked (CHAOS_DURATION); ends with the chaos: summary line
	@$(GO) test -race -count=1 -tags chaos -run Chaos -timeout 90m -v ./shard/ -args -chaos.duration=$(CHAOS_DURATION) >/tmp/copytrade-chaos.log 2>&1; \
	  s=$$?; grep -E '^(chaos: [a-z-]+ faults=|--- |FAIL|ok )' /tmp/copytrade-chaos.log; grep '^chaos: scenarios=' /tmp/copytrade-chaos.log | tail -1; exit $$s

SEEDS ?= 100
SIM_STEPS ?= 2000

sim: ## the deterministic simulation over SEEDS seeds (make test runs a bounded set); a failing seed prints its replay command
	$(GO) test -count=1 -run 'TestSimulation$$' -timeout 60m -v ./shard/ -args -sim.seeds=$(SEEDS) -sim.steps=$(SIM_STEPS) | grep -E '^(sim:|    |---|ok|FAIL)'

security: ## attack a cluster of real processes (tokens, authorization, TLS, raft, limits, ...); prints security: probes=N refused=N leaked=0 crashed=0
	$(GO) run ./cmd/copytrade security
