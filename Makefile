# The two commands a newcomer runs: `make demo` and `make test`. Both do their own set-up.
.PHONY: demo test build release bench clean

POINTSMAN = .build/release/pointsman

demo:
	@.ci/setup.sh release >/dev/null
	@.ci/demo.sh

test:
	@.ci/test.sh

build:
	swift build

release:
	swift build -c release

clean:
	rm -rf .build
