#!/usr/bin/env bash
# Builds Pointsman's image with podman (deploy/Containerfile) and smoke-tests it: the container runs as a non-root
# user, `/readyz` answers, one `/v1/route` request is routed, and the image's health check passes. Exits 0 only if all
# of that held. Installs podman, buildah, runc and debootstrap from Debian when missing, and makes the Debian base
# image from Debian's packages the first time (no registry is reachable here; see ../shared/containers.md).
# Usage: deploy/container-test.sh [image tag, default localhost/pointsman:test]
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-localhost/pointsman:test}
CACHE="${POINTSMAN_CACHE:-$HOME/.cache/pointsman}/containers"
mkdir -p "$CACHE"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
need=()
for tool in podman buildah runc debootstrap; do command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "container-test: installing ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The three settings these machines need to run containers (cgroup v1 in hybrid mode, no raising RLIMIT_NOFILE).
printf '[containers]\ndefault_ulimits = []\n' >"$CACHE/containers.conf"
export CONTAINERS_CONF="$CACHE/containers.conf"
podman() { command podman --runtime runc --cgroup-manager cgroupfs "$@"; }

if ! podman image exists localhost/debian:bookworm; then
  if [ ! -f "$CACHE/bookworm.tar" ]; then
    echo "container-test: making the Debian base image with debootstrap (a few minutes, once)" >&2
    rootfs=$(mktemp -d)
    $SUDO /usr/sbin/debootstrap --variant=minbase bookworm "$rootfs" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log" >&2; exit 1; }
    $SUDO tar -C "$rootfs" -cf "$CACHE/bookworm.tar" .
    $SUDO rm -rf "$rootfs"
  fi
  podman import "$CACHE/bookworm.tar" localhost/debian:bookworm >/dev/null
fi

SWIFT_DIR=$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")")
echo "container-test: building $TAG (Swift from $SWIFT_DIR)" >&2
packages=(); [ -d /opt/swift-packages ] && packages=(--volume /opt/swift-packages:/opt/swift-packages:ro)
# A host behind a TLS-inspecting proxy trusts its certificate authority through PIP_CERT: the build's pip needs it too.
if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
  packages+=(--volume "$PIP_CERT:/etc/pointsman-build-ca.crt:ro" --build-arg PIP_CERT=/etc/pointsman-build-ca.crt)
fi
podman build --format docker --network host --volume "$SWIFT_DIR:/opt/swift:ro" "${packages[@]}" -f deploy/Containerfile -t "$TAG" . >"$CACHE/build.log" 2>&1 \
  || { tail -40 "$CACHE/build.log" >&2; exit 1; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
name="pointsman-smoke-$$"
podman run -d --name "$name" --network host -e POINTSMAN_PORT="$PORT" "$TAG" serve --host 127.0.0.1 --port "$PORT" >/dev/null
trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
failed=0
ready=0
for _ in $(seq 1 300); do
  if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.2
done
if [ "$ready" = 1 ]; then echo "ok   /readyz answers"; else echo "FAIL /readyz never answered"; podman logs "$name" 2>&1 | tail -20; exit 1; fi
uid=$(podman exec "$name" id -u)
if [ "$uid" != 0 ]; then echo "ok   runs as uid $uid"; else echo "FAIL runs as root"; failed=1; fi
answer=$(curl -sf "http://127.0.0.1:$PORT/v1/route" -H 'content-type: application/json' \
  -d '{"prompt": "Write a Python function that reverses a linked list"}' || true)
if echo "$answer" | python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["capability"] == "code" and d["method"] == "embedding", d' 2>/dev/null; then
  echo "ok   /v1/route: $(echo "$answer" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["capability"], "->", d["model"], "by", d["method"])')"
else
  echo "FAIL /v1/route answered: $answer"; failed=1
fi
if podman healthcheck run "$name" >/dev/null 2>&1; then echo "ok   the image's health check passes"; else echo "FAIL health check"; failed=1; fi
size=$(podman image inspect "$TAG" --format '{{.Size}}')
echo "image $TAG: $((size / 1000000)) MB"
exit "$failed"
