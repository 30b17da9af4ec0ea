#!/usr/bin/env bash
# Installs what the tests need from outside PyPI: Debian's chromium, a CJK font, and the
# pinned npm packages of the Wechaty gateway used by the transport tests.
# Usage: system-deps.sh [fonts|all]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=$(command -v sudo || true); fi
updated=""
apt_install() {
    if ! command -v apt-get >/dev/null; then
        echo "system-deps: apt-get not found; please install: $*" >&2
        return 1
    fi
    if [ -z "$updated" ]; then $SUDO apt-get update -qq; updated=1; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! ls /usr/share/fonts/opentype/noto/NotoSansCJK-* >/dev/null 2>&1 \
   && ! (command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .); then
    echo "system-deps: installing a CJK font (fonts-noto-cjk) for the recap poster"
    apt_install fonts-noto-cjk fontconfig
fi
[ "$what" = fonts ] && exit 0

if [ ! -x /usr/bin/chromium ]; then
    echo "system-deps: installing Debian's chromium for the browser tests"
    apt_install chromium
fi

if [ -f tests/gateway/package.json ]; then
    if ! command -v npm >/dev/null; then
        echo "system-deps: installing nodejs and npm for the Wechaty gateway tests"
        apt_install nodejs npm
    fi
    if [ ! -d tests/gateway/node_modules ] || [ tests/gateway/package-lock.json -nt tests/gateway/node_modules ]; then
        echo "system-deps: npm ci in tests/gateway"
        (cd tests/gateway && npm ci --no-audit --no-fund --loglevel=error)
    fi
fi
