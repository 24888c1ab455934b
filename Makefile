# Front door of hcmc. `make demo` and `make check` work on a fresh Debian 12
# machine: both install the missing build packages first (make deps).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

# Debian packages the build and the tests need.
DEPS := cmake make gcc pkg-config libc6-dev libcmocka-dev librandom123-dev \
        libsleef-dev liblapacke-dev libopenblas-dev \
        libcminpack-dev python3

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps build check test-asan demo bench bench-stan format clean

all: build

deps:
	@missing=""; \
	for p in $(DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install -y -q \
	    --no-install-recommends $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

# All tests, then the unit tests once more under ASan + UBSan.
check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHCMC_SANITIZE=ON \
	      -DHCMC_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -L unit

demo: build
	./$(BUILD)/hcmc demo --mode static --angles 3 --frames 200
	./$(BUILD)/hcmc demo --mode laminar_flow --angles 23 --frames 200

bench: build
	./$(BUILD)/bench/bench_model
	./$(BUILD)/bench/bench_nuts

# hcmc's sampler against Stan (rstan) on the same shard; installs R and
# rstan on first use (not needed by build or check).
STAN_DEPS := r-base-core r-base-dev r-cran-rstan r-cran-posterior
bench-stan: build
	@missing=""; for p in $(STAN_DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get -o DPkg::Lock::Timeout=600 install \
	    -y -q --no-install-recommends $$missing; fi
	mkdir -p $(BUILD)/bench/stan
	./$(BUILD)/bench/bench_nuts --export $(BUILD)/bench/stan
	Rscript bench/stan/run_stan.R $(BUILD)/bench/stan

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
