# Two commands on a fresh machine (python3 >= 3.11, pip, make):
#   make run    the default experiment (MLP on the bundled digits), installing what it needs
#   make test   the whole test suite (the notebooks too), installing what it needs
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat constraints.txt pyproject.toml | cksum | cut -d' ' -f1)
WORKDIR ?= runs/mlp_digits

.PHONY: run test bench install clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "lectarch needs python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test,notebooks,postgres,dashboard]'
	rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/lectarch train --config experiments/configs/mlp_digits.py --workdir $(WORKDIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[bench]'
	$(BIN)/python experiments/bench.py

clean:
	rm -rf $(VENV) runs
