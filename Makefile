# GLaSAR developer commands. `make demo` and `make test` do all set-up on a fresh
# Debian/Ubuntu machine: QGIS 3.22 packages via apt, a venv with system site packages,
# and the development requirements.
SHELL := /bin/bash
PYTHON_SYS := /usr/bin/python3
VENV := .venv
PY := $(VENV)/bin/python
QGIS_PROCESS := /usr/bin/qgis_process.bin
APT_PACKAGES := qgis python3-qgis qgis-providers python3-sklearn python3-scipy python3-venv \
	python3-pip python3-matplotlib xvfb xauth
STAMP_DIR := build/stamps
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
export QT_QPA_PLATFORM := offscreen

.PHONY: all deps system-deps venv test demo install uninstall clean plugin-path

all: test

$(STAMP_DIR):
	mkdir -p $(STAMP_DIR)

# System packages: installed only when one is missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing system packages:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP_DIR)/venv: requirements-dev.txt | $(STAMP_DIR)
	$(MAKE) system-deps
	[ -x $(PY) ] || $(PYTHON_SYS) -m venv --system-site-packages $(VENV)
	$(PY) -c "import numpy; print('numpy==' + numpy.__version__)" > build/constraints.txt
	$(PY) -m pip install -q --disable-pip-version-check -c build/constraints.txt -r requirements-dev.txt
	touch $@

deps: system-deps $(STAMP_DIR)/venv plugin-path

# QGIS loads plugins by folder name: expose the checkout as build/pluginpath/glasar.
plugin-path:
	@mkdir -p build/pluginpath
	@ln -sfn "$(CURDIR)" build/pluginpath/glasar

test: deps
	GLASAR_TEST_REQUIRE_EE=1 QGIS_CUSTOM_CONFIG_PATH=$$(mktemp -d) $(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

demo: deps
	$(PY) scripts/demo.py

# Link the plugin into the user's default QGIS profile.
QGIS_PROFILE_PLUGINS := $(HOME)/.local/share/QGIS/QGIS3/profiles/default/python/plugins
install:
	mkdir -p $(QGIS_PROFILE_PLUGINS)
	ln -sfn "$(CURDIR)" $(QGIS_PROFILE_PLUGINS)/glasar
	@echo "Linked $(CURDIR) -> $(QGIS_PROFILE_PLUGINS)/glasar; enable GLaSAR in Plugins > Manage and Install Plugins."

uninstall:
	rm -f $(QGIS_PROFILE_PLUGINS)/glasar

clean:
	rm -rf build demo_output .pytest_cache

# Installable plugin zip, built with pb_tool (pb_tool.cfg lists what ships): the deployed copy is staged
# in PACKAGE_DIR (never the user's QGIS profile) and zipped to PACKAGE_ZIP. pb_tool zips with the
# `zip` program, installed here when missing.
PB_TOOL := $(VENV)/bin/pb_tool
PACKAGE_DIR ?= build/package
PACKAGE_ZIP ?= build/glasar.zip
# BUNDLE_EE=1 adds the pure-Python earthengine-api stack as glasar/extlibs (loaded only when QGIS's
# Python has no ee of its own).
BUNDLE_EE ?= 0

.PHONY: package
package: deps
	@command -v zip >/dev/null || $(MAKE) --no-print-directory system-deps APT_PACKAGES=zip
	rm -rf "$(PACKAGE_DIR)" glasar.zip
	$(PB_TOOL) zip --quick --no-docs --config_file pb_tool.cfg --plugin_path "$(PACKAGE_DIR)"
	mkdir -p "$(dir $(PACKAGE_ZIP))"
	mv glasar.zip "$(PACKAGE_ZIP)"
	if [ "$(BUNDLE_EE)" = "1" ]; then \
		rm -rf build/extlibs && \
		$(PY) scripts/vendor_ee.py build/extlibs --into-zip "$(PACKAGE_ZIP)" --zip-prefix glasar/extlibs; \
	fi
	@echo "Built $(PACKAGE_ZIP)"
