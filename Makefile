# The two commands of the README: `make demo` and `make test`. Both install what is missing
# (scripts/install-deps.sh), build, and run. `make` alone only builds, into build/.
BUILD      ?= build
ASAN_BUILD ?= build/asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all build asan deps demo test test-main test-asan sweep clean

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

test-main: build
	@echo "== tests (gcc, RelWithDebInfo) =="
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The sanitizer run first, so that the last line is the summary of the main run.
test: deps
	@$(MAKE) --no-print-directory test-asan
	@$(MAKE) --no-print-directory test-main

# Every power-loss scenario at every flash operation, every fault kind, and the long random
# fault chains (the bounded part runs in `make test`).
sweep: deps build
	@$(BUILD)/otakit-sweep --full

clean:
	rm -rf $(BUILD)
