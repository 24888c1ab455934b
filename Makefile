# Front door of hcmc. `make demo` and `make check` work on a fresh Debian 12
# machine: both install the missing build packages first (make deps).

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# seconds per fuzz target: brief in `make check`, longer in `make fuzz`
FUZZ_SECONDS ?= 300
FUZZ_TARGETS := config aps
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)

# Debian packages the build and the tests need.
DEPS := cmake make gcc pkg-config libc6-dev libcmocka-dev librandom123-dev \
        libsleef-dev liblapacke-dev libopenblas-dev \
        libcminpack-dev libyaml-dev libhdf5-dev liblzf-dev libnetcdf-dev libjansson-dev \
        libplplot-dev plplot-driver-cairo \
        python3-xarray python3-netcdf4 python3-h5py clang libclang-rt-14-dev python3 \
        python3-pandas python3-yaml python3-pytest python3-tqdm python3-nbclient \
        python3-ipykernel \
        slurmctld slurmd slurm-client slurm-wlm-torque openmpi-bin libopenmpi-dev

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: all deps build python check test-asan fuzz demo validate bench bench-cmc bench-backends bench-stan format clean

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

# All tests, then the unit tests once more under ASan + UBSan, then each
# libFuzzer target for 20 s.
# The Python package (python/hcmc, ctypes over libhcmc.so) for Debian's
# python3: a .pth file in its site-packages points at python/, and the
# package finds $(BUILD)/libhcmc.so beside it; then `import hcmc` works
# from any folder.
python: build
	@site=$$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])') && \
	  $(SUDO) mkdir -p "$$site" && \
	  echo "$(CURDIR)/python" | $(SUDO) tee "$$site/hcmc.pth" > /dev/null && \
	  echo "hcmc: $$site/hcmc.pth -> $(CURDIR)/python" && \
	  cd / && HCMC_BUILD=$(BUILD) /usr/bin/python3 -c "import hcmc; print('import hcmc: ok,', hcmc.library_path())"

check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHCMC_SANITIZE=ON \
	      -DHCMC_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -L unit

# libFuzzer targets, built with clang + ASan + UBSan in their own folder;
# new inputs go to $(FUZZ_BUILD)/corpus, the seeds stay in fuzz/corpus.
fuzz: deps
	@if ! command -v clang >/dev/null; then \
	  echo "make fuzz: clang not found, fuzz targets skipped"; exit 0; fi; \
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHCMC_FUZZ=ON \
	  -DHCMC_BUILD_TESTS=OFF -DHCMC_BUILD_BENCH=OFF >/dev/null && \
	cmake --build $(FUZZ_BUILD) -j $(JOBS) && \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t && \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  ./$(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t \
	    > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1 \
	    || { tail -n 60 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^Done' $(FUZZ_BUILD)/fuzz_$$t.log; \
	done

# A simulated laminar_flow data set (4 angles, 120 frames, APS current
# layout) analysed by consensus Monte Carlo with 2 shards.
DEMO_DIR ?= $(BUILD)/demo
demo: build
	mkdir -p $(DEMO_DIR)
	./$(BUILD)/hcmc simulate -o $(DEMO_DIR)/data.h5 --mode laminar_flow --frames 120 \
	  --angles -45,0,45,90 --noise 0.02 --config-out $(DEMO_DIR)/config.yaml
	printf 'optimization:\n  cmc:\n    enable: true\n' >> $(DEMO_DIR)/config.yaml
	./$(BUILD)/hcmc run --config $(DEMO_DIR)/config.yaml --num-shards 2 \
	  -o $(DEMO_DIR)/results
	@echo "plots in $(DEMO_DIR)/results/plots; open $(DEMO_DIR)/results/report.html"

# The validation catalogue (validate/validate.py: 12 simulated cases and a
# 1 M-point CMC run with homodyne's default bounds, one run and CMC each)
# and simulation-based calibration of the static model (validate/sbc.py),
# of one run and of CMC with 4 shards, 200 replications each; not part of
# check: about 30 min on 2 cores. All always run; the target fails when any
# does. VALIDATE_DIR
# keeps the files and logs.
VALIDATE_DIR ?= $(BUILD)/validate
validate: build
	@status=0; \
	/usr/bin/python3 validate/validate.py ./$(BUILD)/hcmc $(VALIDATE_DIR) || status=1; \
	/usr/bin/python3 validate/sbc.py ./$(BUILD)/hcmc $(VALIDATE_DIR)/sbc 200 2026 \
	    || status=1; \
	/usr/bin/python3 validate/sbc.py ./$(BUILD)/hcmc $(VALIDATE_DIR)/sbc_cmc4 200 2026 \
	    --shards 4 || status=1; \
	exit $$status

bench: build
	./$(BUILD)/bench/bench_model
	./$(BUILD)/bench/bench_nuts

# End-to-end CMC run on a simulated laminar_flow data set (POINTS points,
# serial backend: about 2 min for the default 1 M on 2 cores).
POINTS ?= 1000000
bench-cmc: build
	sh bench/bench_cmc.sh ./$(BUILD)/hcmc $(POINTS)

# serial against multiprocessing with WORKERS workers on POINTS points
# (default 1 000 000 and 2): efficiency, memory with 1, 2, 4 workers,
# worker start-up
bench-backends: build
	sh bench/bench_backends.sh ./$(BUILD)/hcmc $(or $(POINTS),1000000) $(or $(WORKERS),2)

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
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
