# The two commands of the README: `make demo` and `make test`. Both install what is missing
# (scripts/install-deps.sh), build, and run. `make` alone only builds, into build/.
BUILD      ?= build
ASAN_BUILD ?= build/asan
# The second crypto backend's tree (unit tests only) and the Cortex-M4 cross build.
MBEDTLS_BUILD ?= build/mbedtls
CROSS_BUILD   ?= build/cortex-m4
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all build asan deps demo test test-main test-asan test-mbedtls test-cross size sweep \
        bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

# Builds log to <build dir>/build.log and stay quiet unless they fail; the recursive make
# flags are dropped so the log is not full of "Entering directory" lines.
QUIET_BUILD = env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS scripts/quiet-build.sh

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@$(QUIET_BUILD) $(BUILD) $(JOBS)

# Sanitizer build with clang: ASan+UBSan on every test, and the fuzz harnesses as real
# libFuzzer programs.
asan:
	@CC=clang cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOTAKIT_SANITIZE=ON \
	    -DOTAKIT_FUZZ=ON $(CMAKE_ARGS) >/dev/null
	@$(QUIET_BUILD) $(ASAN_BUILD) $(JOBS)

demo: deps build
	@scripts/demo.sh $(BUILD)

test-asan: asan
	@echo "== tests under ASan+UBSan (clang), fuzzers under libFuzzer =="
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# The whole unit suite again with the mbedTLS crypto backend: same vectors, same results.
# Only the unit tests are built there (the unit-tests target), not the programs.
test-mbedtls:
	@cmake -S . -B $(MBEDTLS_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOTAKIT_CRYPTO=mbedtls \
	    $(CMAKE_ARGS) >/dev/null
	@env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS cmake --build $(MBEDTLS_BUILD) --target unit-tests \
	    -j $(JOBS) >$(MBEDTLS_BUILD)/build.log 2>&1 || \
	    { grep -E 'error|undefined' $(MBEDTLS_BUILD)/build.log | head -40; exit 1; }
	@echo "== unit tests with the mbedTLS crypto backend =="
	@ctest --test-dir $(MBEDTLS_BUILD) -L unit --output-on-failure -j $(JOBS)

# The portable core cross-built for a Cortex-M4 (zero warnings, no heap, no OS calls) and
# its example firmware run on this PC.
test-cross:
	@echo "== Cortex-M4 cross build of the core =="
	@scripts/cross-build.sh $(CROSS_BUILD)

# Text/data/bss per layer, RAM of an OTA handle and a boot run, worst stack paths.
size:
	@scripts/size-report.sh $(CROSS_BUILD)

test-main: build
	@echo "== tests (gcc, RelWithDebInfo) =="
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The sanitizer run, the mbedTLS backend and the cross build first, so that the last line is
# the summary of the main run.
test: deps
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-mbedtls
	@$(MAKE) --no-print-directory test-cross
	@$(MAKE) --no-print-directory test-main

# Every power-loss scenario at every flash operation, every fault kind, and the long random
# fault chains (the bounded part runs in `make test`).
sweep: deps build
	@$(BUILD)/otakit-sweep --full

# Every libFuzzer harness for FUZZ_SECONDS each (make test runs them briefly), on a copy of
# its kept corpus, FUZZ_JOBS at a time; crashes are reported with their input's path
# (scripts/fuzz.sh). Not part of make test.
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= $(JOBS)
fuzz: deps asan
	@scripts/fuzz.sh $(ASAN_BUILD) $(FUZZ_SECONDS) $(FUZZ_JOBS)

# Speed and memory against the limit and the peers, measured side by side in one run
# (bench/, docs/performance.md); not part of make test.
bench: deps build
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
