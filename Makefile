# sluice: make run starts the agent on the embedded etcd; make test runs every test.
GO       ?= go
BIN      := bin
OUT      ?= out
DATA_DIR ?= .sluice
RUNTIME  ?= auto
PKGS     := ./...

.PHONY: all build run test bench lint demo clean

all: build

build:
	$(GO) build -o $(BIN)/sluice ./cmd/sluice

## run: the agent on the embedded etcd (data under $(DATA_DIR)); RUNTIME=auto|docker|sim (auto: Docker when an engine answers, else a simulated node)
run: build
	$(BIN)/sluice agent --runtime $(RUNTIME) --data-dir $(DATA_DIR)

## test: unit and integration tests (Docker, cgroup and tc tests skip outside CI when unavailable),
## after a brief fuzz of every trace decoder (mk/fuzz.mk). Packages compile in parallel but their
## tests run one package at a time (-p 1): the real-node tests measure CPU time, and other
## packages' tests on the same two cores would skew what they measure.
test: fuzz
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -p 1 $(PKGS)

## bench: Go benchmarks, summarised as JSON in $(OUT)/bench.json
bench: build
	@mkdir -p $(OUT)
	SLUICE_BIN=$(abspath $(BIN))/sluice $(GO) test -run '^$$' -bench . -benchmem -timeout 30m $(PKGS) | tee $(OUT)/bench.txt
	$(BIN)/sluice bench summarize $(OUT)/bench.txt > $(OUT)/bench.json
	@cat $(OUT)/bench.json

## lint: formatting and vet
lint:
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed on:"; gofmt -l .; exit 1; }
	$(GO) vet $(PKGS)

## demo: the shield-sine experiment in the simulator, outputs in $(OUT)/shield-sine
demo: build
	$(BIN)/sluice experiment run examples/experiments/shield-sine.yaml --mode sim --out $(OUT)/shield-sine

clean:
	rm -rf $(BIN) $(OUT)

-include mk/*.mk
