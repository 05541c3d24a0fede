# Two commands matter: `make demo` and `make test`. Both set the machine up first (as root,
# on Debian/Ubuntu): apt packages the tests drive for real, then this package and its test
# dependencies from PyPI. Setting up twice is cheap: nothing is installed that is already there.

PYTHON ?= python3
APT_PACKAGES := iproute2 iputils-ping graphviz util-linux kmod qemu-system-x86 linux-image-amd64 busybox-static
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast bench lint clean help

help:
	@echo "make demo    set up; the ward end to end (shaped links, devices, ledger proofs, offload), table and HTML report"
	@echo "make test    set up and run the whole suite (root: namespaces are created for real)"
	@echo "make bench   bring-up/teardown bench (JSON on stdout)"
	@echo "make lint    ruff over the tree, mypy over testbed/ and devices/"

setup:
	@missing=""; \
	for pkg in $(APT_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'
	$(PYTHON) -m pip install -q --disable-pip-version-check 'virtme-ng==1.42'

demo: setup
	$(PYTHON) -m testbed.demo topologies/ward.yaml

test: setup
	$(PYTHON) -m pytest $(PYTEST_ARGS)

test-fast:
	$(PYTHON) -m pytest -m "not root" $(PYTEST_ARGS)

bench: setup
	$(PYTHON) bench/bringup.py

lint:
	$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[lint]'
	$(PYTHON) -m ruff check testbed tests bench devices
	$(PYTHON) -m mypy

clean:
	testbed clean
