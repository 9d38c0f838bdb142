# Two commands on a fresh machine (python3 >= 3.11, pip, make):
#   make run    the default experiment (MLP on the bundled digits), installing what it needs
#   make test   the whole test suite (the notebooks too), installing what it needs
# Both install the JAX build for this machine's accelerator: ACCEL=cuda12 (NVIDIA GPUs), tpu (Cloud
# TPU VMs) or cpu, detected by launch/detect_accel.sh unless given (make install ACCEL=cuda12).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/python -m uv pip
IN_VENV := -q --python $(BIN)/python
ifeq ($(origin ACCEL),undefined)
ACCEL := $(shell bash launch/detect_accel.sh)
endif
BUILDS := cpu cuda12 tpu
ifeq ($(filter $(ACCEL),$(BUILDS)),)
$(error ACCEL=$(ACCEL) is not one of: $(BUILDS))
endif
EXTRAS_cpu := test,notebooks,postgres,dashboard
EXTRAS_cuda12 := $(EXTRAS_cpu),cuda12
EXTRAS_tpu := $(EXTRAS_cpu),tpu
ABOUT_cpu := the CPU-only build of JAX
ABOUT_cuda12 := the NVIDIA GPU build of JAX (CUDA 12)
ABOUT_tpu := the Cloud TPU build of JAX (libtpu)
# the other builds' plugins, removed so that JAX picks the build asked for
OTHERS_cpu := jax-cuda12-plugin jax-cuda12-pjrt libtpu
OTHERS_cuda12 := libtpu
OTHERS_tpu := jax-cuda12-plugin jax-cuda12-pjrt
STAMP := $(VENV)/.installed-$(ACCEL)-$(shell cat constraints.txt pyproject.toml | cksum | cut -d' ' -f1)
WORKDIR ?= runs/mlp_digits

.PHONY: run test bench install clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "lectarch needs python >= 3.11")'
	@echo "lectarch: installing $(ABOUT_$(ACCEL)): ACCEL=$(ACCEL), .[$(EXTRAS_$(ACCEL))] (ACCEL=cpu|cuda12|tpu picks another)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# pip installs uv (pinned too), which installs the rest several packages at a time and byte-compiles them on every core
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt uv
	$(UV) uninstall $(IN_VENV) $(OTHERS_$(ACCEL)) 2>/dev/null || true
	$(UV) install $(IN_VENV) --link-mode copy --compile-bytecode -c constraints.txt -e '.[$(EXTRAS_$(ACCEL))]'
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lectarch train --config experiments/configs/mlp_digits.py --workdir $(WORKDIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --dist worksteal

# make bench: every row this machine can run; make bench DEVICE=gpu: the GPU rows, results in
# experiments/results/bench/bench_gpu.md (docs/benchmarks.md)
DEVICE ?= all
bench: $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[bench]'
	$(BIN)/python -m experiments.bench --device $(DEVICE)

clean:
	rm -rf $(VENV) runs
