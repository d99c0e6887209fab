# Two entry points for a fresh machine: `make demo` (set up, learn the bundled dragon,
# generate from it) and `make test` (set up, run the test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SINMDM := $(BIN)/sinmdm
# The demo's training budget: 6 minutes (or 1250 steps, on a GPU) fits the whole demo in
# 15 minutes on a 2-core CPU, installation included.
DEMO_TRAIN ?= --minutes 6 --steps 1250
DEMO := runs/dragon

.PHONY: install demo test clean blender-addon

install: $(VENV)/.installed

# torch is pinned and installed first: an unpinned torch pulls gigabytes of CUDA wheels
# onto machines that have no GPU.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: install
	$(SINMDM) info examples/dragon.bvh --no-tree
	$(SINMDM) train examples/dragon.bvh --out $(DEMO) --force $(DEMO_TRAIN)
	$(SINMDM) generate --model $(DEMO) --length 2x --n 4 --out $(DEMO)/demo --force
	$(SINMDM) expand --model $(DEMO) --length 2x --out $(DEMO)/demo --force
	$(SINMDM) crowd --model $(DEMO) --n 12 --length 10s --out $(DEMO)/demo --force
	$(SINMDM) render examples/dragon.bvh $(DEMO)/demo/generate_0.bvh --size 800x320 --fps 15 \
		--out $(DEMO)/demo/dragon.gif --force
	@echo
	@echo "Done. The dragon's clip (left) beside a new motion: $(DEMO)/demo/dragon.gif"
	@echo "  the model, its loss curve and a preview:  $(DEMO)/ (preview.gif, loss.png)"
	@echo "  four new motions, twice the clip's length: $(DEMO)/demo/generate_0..3.bvh"
	@echo "  the clip with new motion before and after: $(DEMO)/demo/expand_0.bvh"
	@echo "  a crowd of 12 (BVH files and crowd.json):  $(DEMO)/demo/crowd_*.bvh"
	@echo "Try more: examples/README.md (activate the environment first: . $(VENV)/bin/activate)"

test: install
	@# the glTF tests' validator (npm package gltf-validator), where npm is installed
	@if command -v npm >/dev/null; then npm install --silent --prefix tests/gltf --no-audit --no-fund; fi
	$(BIN)/python -m pytest

# The Blender add-on as a zip for Edit > Preferences > Add-ons > Install (no build step:
# the add-on is plain Python; Blender needs nothing else but the sinmdm command line).
blender-addon:
	find blender -name __pycache__ -prune -exec rm -rf {} +
	mkdir -p dist
	cd blender && $(PYTHON) -m zipfile -c ../dist/sinmdm_blender.zip sinmdm_blender
	@echo dist/sinmdm_blender.zip

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
