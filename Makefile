# josgdb: `make demo` boots the stub in QEMU and runs a scripted gdb tour;
# `make test` runs every test. Both install what is missing first.

NODE_DEPS := node_modules/.package-lock.json

.PHONY: all deps build stub test unit e2e demo bench clean typecheck reliability soak recordings

all: build stub

deps: $(NODE_DEPS)
	@bash scripts/install-deps.sh

$(NODE_DEPS): package.json package-lock.json
	npm ci --no-audit --no-fund

build: $(NODE_DEPS)
	npx tsc -p tsconfig.build.json

typecheck: $(NODE_DEPS)
	npx tsc -p tsconfig.json --noEmit

stub: deps
	$(MAKE) -C stub-uefi all variants

test: deps build stub typecheck
	npx jest --ci

unit: $(NODE_DEPS)
	npx jest --selectProjects unit

e2e: deps build stub
	npx jest --selectProjects e2e

demo: deps build stub
	node dist/cli/main.js demo

bench: deps build stub
	node bench/pdb-load/run.js
	node bench/gdb-ops/run.js --write-doc

# The recorded stub sessions test/replay-recordings.test.ts replays without QEMU
# (regenerate after a change to what josgdb sends or answers; docs/recording.md).
recordings: deps build stub
	node test/recordings/regenerate.js

# Fault scenarios, RSP fuzz, security and a short soak, with a table of figures (docs/reliability.md).
reliability: deps build stub
	node scripts/reliability.mjs

# The same with the full soak: 10,000 stepi and 1,000 breakpoint hits through gdb.
soak: deps build stub
	node scripts/reliability.mjs --soak

clean:
	rm -rf dist dist-check
	$(MAKE) -C stub-uefi clean
