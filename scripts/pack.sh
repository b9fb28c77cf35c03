#!/usr/bin/env bash
# Builds, packs and checks the npm package: `npm run pack` (tarball only) and `npm run release`
# (then publishes that very tarball). A plain `npm pack` / `npm publish` also builds (prepack:
# build:clean); this script adds the tarball check (scripts/check-pack.ts), which CI runs on a
# fresh clone.
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

# Already built: --ignore-scripts keeps npm's prepack from building a second time.
tarball=$(npm pack --ignore-scripts --silent --pack-destination "$dest" | tail -n 1)
tarball=$dest/$tarball

log "checking $tarball"
"$root/node_modules/.bin/tsx" "$root/scripts/check-pack.ts" "$tarball" >&2

if [ "$publish" = 1 ]; then
	bash "$root/scripts/publish-guard.sh"
	log "npm publish $tarball $*"
	npm publish --ignore-scripts "$tarball" "$@" >&2
fi
echo "$tarball"
