#!/usr/bin/env bash
# Install Debian's redis-server when it is not on PATH (tests and `make run` need the binary).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
echo "redis-server not found: installing Debian's package" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# Debian's package starts a system-wide server; gradatlas starts its own on its own port.
$SUDO service redis-server stop >/dev/null 2>&1 || true
command -v redis-server >/dev/null
