#!/usr/bin/env bash
# Makes sure the system tools the test suite needs are present: redis-server (the
# revocation tests start their own instances) and flatc (proves the committed
# protocol code is what the schema generates). Installs Debian's packages when
# running as root; otherwise says exactly what to install and fails.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v flatc >/dev/null 2>&1 || missing+=(flatbuffers-compiler)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (Debian packages) for the test suite" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi

echo "the test suite needs: ${missing[*]}" >&2
echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
exit 1
