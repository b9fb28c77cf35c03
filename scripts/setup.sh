#!/usr/bin/env bash
# Makes a fresh machine ready for `npm run demo` and `npm test`: the real servers the tests and
# the demo start (PostgreSQL, sshd, vsftpd: Debian packages) and node_modules. Idempotent and
# quick when everything is already there; run first by `npm test`, `npm run test:e2e`, `npm run demo` and by .ci/run. Dependencies install with --ignore-scripts: none of them needs an install script, and none gets to run one.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

PACKAGES=(postgresql postgresql-contrib zstd openssh-server openssh-client vsftpd openssl age redis-server prometheus)

is_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = 'install ok installed' ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
	log "installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "error: missing Debian packages; install them with: sudo apt-get install ${missing[*]}" >&2
		exit 1
	fi
	# Packages must not start their daemons (Debian's postgresql would start cluster 'main' on
	# 5432, openssh-server sshd on 22): the tests start private instances on free ports. A
	# policy-rc.d answering 101 tells invoke-rc.d "not allowed"; removed again afterwards.
	policy=/usr/sbin/policy-rc.d
	created_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		created_policy=1
	fi
	cleanup_policy() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
	trap cleanup_policy EXIT

	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends "${missing[@]}"

	cleanup_policy
	trap - EXIT
fi

# The test harness runs the newest /usr/lib/postgresql/<version>/bin; fail here, clearly, if
# the install did not provide it.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	echo 'error: PostgreSQL server binaries missing (/usr/lib/postgresql/<version>/bin/initdb)' >&2
	exit 1
fi
for tool in zstd openssl sftp; do
	command -v "$tool" >/dev/null || { echo "error: $tool not on PATH" >&2; exit 1; }
done
# sshd refuses to start without its privilege-separation folder.
mkdir -p /run/sshd


# node_modules from the lock file, when it is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	log 'npm ci'
	npm ci --ignore-scripts --no-audit --no-fund
fi
