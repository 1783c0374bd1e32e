# The Python 3.13 that builds and runs Caisse, found the same way by the top Makefile and by each
# layer's (which `sam build` runs from any shell): the project's .venv, then pyenv's, then the
# system's. Each candidate must run and be 3.13: a pyenv shim can exist without the version selected.
PYTHON313 ?= $(shell for p in $(ROOT)/.venv/bin/python $(HOME)/.pyenv/versions/3.13*/bin/python3.13 \
	$$(command -v python3.13); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && echo "$$p" && break; done)
# A recipe's first line: stop with a clear message when there is none.
NEED_PYTHON313 = @test -n "$(PYTHON313)" || { echo "Python 3.13 not found: pyenv install 3.13, or apt-get install python3.13" >&2; exit 1; }

# The .pyc files Lambda uses without checking timestamps, for everything a layer holds.
COMPILE_LAYER = $(PYTHON313) -m compileall -q -j 0 --invalidation-mode unchecked-hash "$(ARTIFACTS_DIR)/python"

# A layer of Linux arm64 wheels for Python 3.13, in one recipe line per step:
# `$(call WHEELS_LAYER,<file in requirements/>,<pip options of its own: more platforms, --no-deps>)`.
define WHEELS_LAYER
	$(NEED_PYTHON313)
	$(PYTHON313) -m pip install --quiet --disable-pip-version-check --no-compile \
		--platform manylinux2014_aarch64 $(2) --implementation cp --python-version 3.13 --only-binary=:all: \
		--target "$(ARTIFACTS_DIR)/python" -r "$(ROOT)/requirements/$(1)"
	rm -rf "$(ARTIFACTS_DIR)"/python/bin
	$(COMPILE_LAYER)
endef
