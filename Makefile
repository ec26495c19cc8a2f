# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv and install caskd (editable) with its test extra first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=
# arq pins redis<6, which the test extra's kombu cannot share: tests/apps runs it from here.
ARQ_VENV := $(VENV)/arq

.PHONY: install run test test-peers bench cluster-demo failover-demo lint clean

# Byte-compiles caskd's sources too, as pip does for an installed package:
# without .pyc files (PYTHONDONTWRITEBYTECODE=1, or a read-only tree) every
# start compiles them all again, which takes about as long as loading a
# million keys from hint files. Cheap when nothing changed.
install: $(VENV)/.compiled $(ARQ_VENV)/.installed
	$(PY) -m compileall -q protocol server storage scripts

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.compiled

# The compiled core (see server/compiled.py): each module with a .pxd beside it is
# compiled in place from its .py, and each .pyx. An editable install does not notice a changed
# source, so a change to one builds them again (pip brings Cython for the build).
COMPILED_SOURCES := $(foreach pxd,$(wildcard protocol/*.pxd storage/*.pxd server/*.pxd server/commands/*.pxd \
	server/scripting/*.pxd),$(pxd) $(pxd:.pxd=.py)) \
	$(wildcard protocol/*.pyx storage/*.pyx)
$(VENV)/.compiled: $(VENV)/.installed scripts/build_backend.py server/compiled.py $(COMPILED_SOURCES)
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(ARQ_VENV)/.installed: tests/apps/arq-requirements.txt | $(VENV)/.installed
	$(PYTHON) -m venv $(ARQ_VENV)
	$(ARQ_VENV)/bin/python -m pip install -q -r tests/apps/arq-requirements.txt
	touch $@

run: install
	$(PY) -m server --dir ./data $(ARGS)

# Then the reference run: CASKD_PURE_PYTHON=1 runs the .py files of the compiled
# modules, through their unit tests and the differential tests against redis-server
# (or, given ARGS, the same selection again). The crash tests, a minute and a half of
# killed processes that exercise the engine rather than the compiled modules, run once.
PURE_TESTS := tests/compiled tests/protocol tests/storage tests/compat \
	--ignore=tests/storage/test_crash.py
test: install
	$(PY) -m pytest -q $(ARGS)
	CASKD_PURE_PYTHON=1 $(PY) -m pytest -q $(or $(ARGS),$(PURE_TESTS))

# redis-py's own test suite (pinned sdist, fetched into .cache/) against caskd and,
# as the control, redis-server; what is left out and why: scripts/redis_py_deselected.py.
# ARGS go to the runner, pytest options after --: ARGS="--server caskd -- -k zintercard"
test-peers: install
	$(PY) -m scripts.redis_py_suite $(ARGS)

# Results land in scripts/results/MODE.{md,json,png}: what the README shows.
bench: install
	$(PY) -m scripts.bench --out scripts/results $(ARGS)

# N caskd nodes behind twemproxy (needs nutcracker): ARGS="--nodes 5 --base-port 7000"
cluster-demo: install
	$(PY) -m scripts.cluster_demo $(ARGS)

# A caskd master, replicas and real redis-sentinels (needs redis-sentinel):
# ARGS="--replicas 2 --sentinels 3 --base-port 7400"
failover-demo: install
	$(PY) -m scripts.failover_demo $(ARGS)

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) *.egg-info build protocol/*.c protocol/*.so storage/*.c storage/*.so \
		server/*.c server/*.so server/commands/*.c server/commands/*.so \
		server/scripting/*.c server/scripting/*.so
