#!/usr/bin/env bash
# The registry lab, with ctl alone: start a local distribution registry
# (deletion on) on a free port, then walk the workflow of the product spec,
# printing each command before running it. `make demo` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

ctl=${CTL:-$PWD/bin/ctl}
registry=$(scripts/tool.sh registry)
crane=$(scripts/tool.sh crane)
work=$(mktemp -d)
export CTL_STORE=$work/store DOCKER_CONFIG=$work/docker XDG_CONFIG_HOME=$work/config
pid=
cleanup() {
	status=$?
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT

# The registry takes a free port itself (addr :0) and says which in its log,
# as the test harness starts it: a port picked here and bound later could be
# taken in between (by a parallel test's connection, say).
cat >"$work/registry.yml" <<YAML
version: 0.1
log: {level: info}
storage:
  filesystem: {rootdirectory: $work/registry}
  delete: {enabled: true}
http: {addr: "127.0.0.1:0", secret: ctl-demo}
YAML
OTEL_TRACES_EXPORTER=none "$registry" serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pid=$!
reg=
for _ in $(seq 100); do
	reg=$(grep -o -m1 'listening on 127\.0\.0\.1:[0-9]*' "$work/registry.log" | sed 's/^listening on //') || true
	[ -n "$reg" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$reg" ]; then
	echo "demo: the registry did not start:" >&2
	cat "$work/registry.log" >&2
	exit 1
fi
echo "# a distribution registry is listening on $reg (deletion enabled)"

run() {
	printf '\n$ ctl %s\n' "$*"
	"$ctl" "$@"
}

echo; echo "# 1. Understand references: defaults filled in the way docker does"
run ref diamol/golang
run ref --format json "$reg/gallery/ui:v1"
run ref --format '{{.Canonical}}' nginx

echo; echo "# 2. A local image: a small generated web page, saved as a docker-save tar, loaded"
mkdir -p "$work/layer/app"
echo '<h1>image gallery</h1>' >"$work/layer/app/index.html"
tar -C "$work/layer" -cf "$work/layer.tar" app
"$crane" append -f "$work/layer.tar" -t image-gallery:latest -o "$work/image-gallery.tar" >/dev/null 2>&1
run load -i "$work/image-gallery.tar"
run images

echo; echo "# 3. More references to the same image: the version scheme users pin to"
run tag image-gallery "$reg/gallery/ui:v1"
run tag --semver image-gallery "$reg/gallery/ui:2.1.106"
run images --filter reference=image-gallery --filter "reference=*/gallery/ui"

echo; echo "# 4. Push every tag: each blob goes up once, then one manifest per tag"
run push --all-tags "$reg/gallery/ui"

echo; echo "# 5. Look: tags, the manifest as stored, its digest"
run tags list "$reg/gallery/ui"
run manifest get "$reg/gallery/ui:v1"
echo
run digest "$reg/gallery/ui:v1"
run inspect "$reg/gallery/ui:2.1.106"

echo; echo "# 6. Delete one tag: only that tag goes, the others stay"
run delete "$reg/gallery/ui:v1"
run tags list "$reg/gallery/ui"

echo; echo "# 7. Golden bases: an approved base, pinned to its digest, checked as CI would"
cat >"$work/Dockerfile" <<DOCKERFILE
# the gallery's web image
FROM $reg/gallery/ui:2.1 AS web
COPY app /usr/share/nginx/html
DOCKERFILE
run check dockerfile --allow "$reg/gallery/" --require-pinned "$work/Dockerfile" || true
run pin "$work/Dockerfile"
run check dockerfile --allow "$reg/gallery/" --require-pinned "$work/Dockerfile"

echo; echo "# 8. Delete by digest: the manifest goes with every tag that pointed to it"
digest=$("$ctl" digest "$reg/gallery/ui:latest")
run delete "$reg/gallery/ui@$digest"
run tags list "$reg/gallery/ui"

echo; echo "# done: the registry on $reg is stopped and its storage removed"
