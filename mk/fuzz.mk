# Fuzzing of the trace decoders. `go test` already runs every fuzzer's seed
# corpus; `make fuzz` explores beyond it, and `make test` (see Makefile)
# runs it first so that every decoder is fuzzed briefly on each run. Go fuzzes one target of
# one package at a time. Inputs that fail land in
# sensors/traces/testdata/fuzz/ and become regression seeds once committed.
#
# FUZZTIME is a count of executions ("50000x") rather than a duration: with
# a duration, Go 1.26's coordinator can report a spurious "context deadline
# exceeded" when a worker on a busy machine misses the deadline
# (go.dev/issue/75804, fixed in Go 1.27). FUZZTIME=10s works too.
GO       ?= go
FUZZTIME ?= 50000x
FUZZ_PKG := ./sensors/traces
FUZZERS  := FuzzOTLPProto FuzzOTLPJSON FuzzJaegerCompact FuzzJaegerBinary

.PHONY: fuzz

## fuzz: run each trace decoder's fuzzer for FUZZTIME (executions or a duration)
fuzz:
	@set -e; for f in $(FUZZERS); do \
		echo "fuzz $$f for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) $(FUZZ_PKG); \
	done

