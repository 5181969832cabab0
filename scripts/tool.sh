#!/usr/bin/env bash
# tool.sh NAME...: print the path of each pinned tool of tools/go.mod
# (registry, crane, staticcheck, ...), building it with `go tool -n` when
# the Go build cache lacks it. A build that is not done within two seconds
# is announced on stderr: the first one downloads the tool's modules and
# compiles them, which takes minutes, and happens once per Go build cache.
set -euo pipefail
cd "$(dirname "$0")/.."
for name in "$@"; do
	out=$(mktemp)
	go tool -modfile=tools/go.mod -n "$name" >"$out" &
	build=$!
	for _ in $(seq 20); do
		kill -0 "$build" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$build" 2>/dev/null; then
		echo "# building the pinned $name from tools/go.mod (first run only: the Go build cache keeps it; this takes minutes)" >&2
	fi
	status=0
	wait "$build" || status=$?
	if [ "$status" -ne 0 ]; then
		rm -f "$out"
		echo "tool.sh: building $name failed (exit $status)" >&2
		exit "$status"
	fi
	cat "$out"
	rm -f "$out"
done
