#!/usr/bin/env bash
# npm's prepublishOnly: refuse to publish with the placeholder metadata. npm runs prepack (a clean
# build) before this, so what it publishes is the fresh build of this checkout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if node -e 'process.exit(/\.example\b/.test(JSON.stringify(require("./package.json"))) ? 0 : 1)'; then
	echo 'error: package.json still has placeholder metadata (…@….example): set author, repository, bugs and homepage to the real ones before publishing.' >&2
	exit 1
fi
