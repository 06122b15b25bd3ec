# The web dashboard (web/): npm project built by Vite into web/dist, served by `barometer up`.
# Browser tests (tests/browser) drive Debian's Chromium through Playwright; no browser download.
WEB_DIR := web
WEB_STAMP := $(WEB_DIR)/node_modules/.installed
WEB_SOURCES := $(WEB_DIR)/index.html $(WEB_DIR)/vite.config.js $(shell find $(WEB_DIR)/src -type f 2>/dev/null)
CHROMIUM := /usr/bin/chromium
WEB_SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: web web-unit web-dev chromium

$(WEB_STAMP): $(WEB_DIR)/package.json $(WEB_DIR)/package-lock.json
	cd $(WEB_DIR) && npm ci --no-audit --no-fund --prefer-offline
	@touch $@

$(WEB_DIR)/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	cd $(WEB_DIR) && npm run --silent build

web: $(WEB_DIR)/dist/index.html ## build the dashboard into web/dist (served by `barometer up` at /)

web-unit: $(WEB_STAMP) ## the dashboard's JavaScript unit tests (node's test runner)
	cd $(WEB_DIR) && npm test --silent

web-dev: web ## the dashboard on canned data at http://127.0.0.1:5180/ (development aid only)
	node $(WEB_DIR)/dev/server.js 5180

chromium: ## Debian's Chromium for the browser tests (installed only when missing)
	@if [ ! -x $(CHROMIUM) ]; then \
		$(WEB_SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(WEB_SUDO) apt-get install -y chromium; \
	fi

TEST_PREREQS += chromium web
TEST_EXTRA += web-unit
