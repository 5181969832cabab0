#!/usr/bin/env bash
# Installs the Debian packages the end-to-end tests and benchmarks use when
# they are missing: podman (the engine tests start its Docker-compatible API
# service), skopeo (a peer in interop tests and make bench), bzip2 (Go
# reads bzip2 but cannot write it: the load tests make their bzip2 archive
# with it) and bash-completion (the completion test runs ctl's bash script
# under it). Go tools are pinned in tools/go.mod instead.
set -euo pipefail
need=()
for p in podman skopeo bzip2; do
	command -v "$p" >/dev/null 2>&1 || need+=("$p")
done
[ -r /usr/share/bash-completion/bash_completion ] || need+=(bash-completion)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${need[*]}; run as root or: sudo apt-get install ${need[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${need[*]} with apt-get (once per machine)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" uidmap crun >/dev/null
