# Fuzzing of the trace decoders. `go test` already runs every fuzzer's seed
# corpus; `make fuzz` explores beyond it for FUZZTIME per fuzzer (Go fuzzes
# one target of one package at a time). Inputs that fail land in
# sensors/traces/testdata/fuzz/ and become regression seeds once committed.
GO       ?= go
FUZZTIME ?= 10s
FUZZ_PKG := ./sensors/traces
FUZZERS  := FuzzOTLPProto FuzzOTLPJSON FuzzJaegerCompact FuzzJaegerBinary

.PHONY: fuzz

## fuzz: run each trace decoder's fuzzer for $(FUZZTIME)
fuzz:
	@set -e; for f in $(FUZZERS); do \
		echo "fuzz $$f for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $(FUZZ_PKG); \
	done
