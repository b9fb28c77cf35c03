#!/usr/bin/env bash
# Builds, packs and checks the npm package: `npm run pack` (tarball only) and `npm run release`
# (then publishes that very tarball). Why a script and not npm's prepack hook: .npmrc sets
# ignore-scripts so dependencies' install scripts never run, and npm then skips this package's
# own hooks as well, so a plain `npm pack` packs whatever dist/ happens to hold (nothing, in a
# fresh clone). package.json is "private" so that a plain `npm publish` fails loudly instead;
# the tarball made here is packed from a copy without "private".
#
#   bash scripts/pack.sh [--dest DIR] [--publish [npm publish options…]]
#
# Prints the tarball's path on its last line. The build is clean (dist/ is emptied first), so
# nothing left over from a renamed file ships.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=$root
publish=0
while [ $# -gt 0 ]; do
	case $1 in
	--dest) dest=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
	--publish) publish=1; shift; break ;;
	*) echo "usage: bash scripts/pack.sh [--dest DIR] [--publish [npm publish options…]]" >&2; exit 2 ;;
	esac
done

log() { printf '==> %s\n' "$*" >&2; }
cd "$root"

log 'clean build (npm run build:clean)'
npm run build:clean --silent >&2

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# npm picks the files (package.json "files"); the copy drops "private" and the note about it.
npm pack --ignore-scripts --silent --pack-destination "$stage" >/dev/null
tar -xzf "$stage"/*.tgz -C "$stage"
node -e '
	const fs = require("node:fs");
	const file = process.argv[1];
	const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
	delete pkg.private;
	delete pkg["//"];
	fs.writeFileSync(file, JSON.stringify(pkg, null, "\t") + "\n");
' "$stage/package/package.json"
tarball=$(cd "$stage/package" && npm pack --ignore-scripts --silent --pack-destination "$dest" | tail -n 1)
tarball=$dest/$tarball

log "checking $tarball"
"$root/node_modules/.bin/tsx" "$root/scripts/check-pack.ts" "$tarball" >&2

if [ "$publish" = 1 ]; then
	if tar -xzOf "$tarball" package/package.json | grep -q '\.example"'; then
		echo 'error: package.json still has the placeholder author e-mail (…@….example): set the real author, repository, bugs and homepage before publishing.' >&2
		exit 1
	fi
	log "npm publish $tarball $*"
	npm publish --ignore-scripts "$tarball" "$@" >&2
fi
echo "$tarball"
