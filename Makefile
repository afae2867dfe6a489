# The README's commands. `make demo` and `make test` each set up what is missing, build and run,
# so either is the only command a new user types.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
CMAKE_ARGS ?=
JOBS       ?= 2

.PHONY: all deps configure build test bench ct soak sanitize fuzz fuzz-ci demo format format-check clean status-page

all: build

deps:
	@scripts/deps.sh

configure: deps
	@if [ ! -f $(BUILD)/build.ninja ]; then \
	  cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS); \
	fi

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# The performance figures (P1-P6) beside the reference servers of bench/peers, on loopback:
# a table on stdout, build/bench-results.json and build/bench-cpu.svg. Builds only what it runs.
# BENCH_SCALE=0.25 (or BENCH_ARGS=--quick) for a shorter run. Then the micro-benchmarks'
# table (bench/micro), each run for MICRO_MIN_TIME seconds at least (about 5 s in all).
BENCH_ARGS ?=
MICRO_MIN_TIME ?= 0.1
bench: configure
	cmake --build $(BUILD) -j $(JOBS) --target doorman-server doorman-bench tutorial-server \
	  peer-floor peer-udp_floor peer-asio-server doorman-micro
	python3 bench/run.py --build $(BUILD) $(BENCH_ARGS)
	$(BUILD)/bench/doorman-micro --benchmark_min_time=$(MICRO_MIN_TIME)

# Is the password comparison constant time (B10)? dudect's t-test on CT_MEASUREMENTS timings per
# class; fails if any |t| reaches 4.5. doorman-ct pins itself to one CPU. CT_CONTROL=assert also
# fails if the deliberately leaky control goes unseen.
CT_MEASUREMENTS ?= 1000000
CT_CONTROL      ?= report
ct: build
	$(BUILD)/doorman-ct --measurements $(CT_MEASUREMENTS) --control $(CT_CONTROL)

# Hardening, not in CI: SOAK_SECONDS of mixed load (good, silent, slow, resetting, junk and
# datagram clients) against one server; fails if its descriptors or RSS at the end are not within
# 1 % of their warm-up values, or if it counted an error.
SOAK_SECONDS ?= 600
SOAK_ARGS    ?=
soak: build
	python3 bench/soak.py --server $(BUILD)/doorman-server --bench $(BUILD)/doorman-bench \
	  --seconds $(SOAK_SECONDS) $(SOAK_ARGS)

# The same tests on builds with AddressSanitizer + UndefinedBehaviorSanitizer, then ThreadSanitizer.
SANITIZE_ARGS = -DDOORMAN_BUILD_BENCH=OFF
sanitize: deps
	$(MAKE) BUILD=build-asan BUILD_TYPE=Debug CMAKE_ARGS="-DDOORMAN_SANITIZE=address,undefined $(SANITIZE_ARGS)" test
	$(MAKE) BUILD=build-tsan BUILD_TYPE=Debug CMAKE_ARGS="-DDOORMAN_SANITIZE=thread $(SANITIZE_ARGS)" test

# The fuzz targets (fuzz/) built with clang, libFuzzer, ASan and UBSan in their own build
# directory, each run for FUZZ_SECONDS; any finding fails. The main build stays with g++.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CMAKE_ARGS = -DCMAKE_CXX_COMPILER=clang++-14 -DDOORMAN_BUILD_FUZZ=ON -DDOORMAN_BUILD_TESTS=OFF \
            -DDOORMAN_BUILD_BENCH=OFF
fuzz: deps
	$(MAKE) BUILD=$(FUZZ_BUILD) BUILD_TYPE=RelWithDebInfo CMAKE_ARGS="$(FUZZ_CMAKE_ARGS)" build
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# The short run CI affords.
fuzz-ci:
	$(MAKE) FUZZ_SECONDS=20 fuzz

# Only what the demo plays: the server and the client, not the tests.
demo: configure
	cmake --build $(BUILD) -j $(JOBS) --target doorman-server doorman-client
	@scripts/demo.sh $(BUILD)

format: deps
	git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' '*.c' '*.h' | xargs clang-format -i

# The README's screenshot of the status page: the one its browser test takes under a bounded
# load (tests/integration/test_server_metrics.py, about 10 s, needs chromium-headless-shell).
status-page: build
	rm -f $(BUILD)/status-page.png
	cd tests/integration && DOORMAN_BUILD_DIR=$(abspath $(BUILD)) \
	  python3 -m unittest test_server_metrics.StatusPageInABrowser
	cp $(BUILD)/status-page.png docs/status-page.png

format-check: deps
	git ls-files --cached --others --exclude-standard '*.cpp' '*.hpp' '*.c' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD)
