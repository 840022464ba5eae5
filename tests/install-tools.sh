#!/usr/bin/env bash
# Installs the external tools the test suite needs (chromium, a Java runtime,
# npm, the Nu HTML checker vnu.jar and the axe-core accessibility engine),
# skipping whatever is already there.
# Idempotent; safe to run from any directory.
set -euo pipefail

VNU_VERSION="26.9.27"   # latest 26.x of the npm package vnu-jar
AXE_VERSION="4.14.1"    # npm package axe-core (tests/test_judge_axe.py)

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS_DIR="$TESTS_DIR/.tools"
VNU_JAR="$TOOLS_DIR/node_modules/vnu-jar/build/dist/vnu.jar"
AXE_JS="$TOOLS_DIR/node_modules/axe-core/axe.min.js"

apt_pkgs=()
[ -x /usr/bin/chromium ] || apt_pkgs+=(chromium)
command -v java >/dev/null 2>&1 || apt_pkgs+=(default-jre-headless)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(npm)

if [ "${#apt_pkgs[@]}" -gt 0 ]; then
    echo "install-tools: apt-get install ${apt_pkgs[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${apt_pkgs[@]}"
fi

# The version of an npm package installed in $TOOLS_DIR, or nothing.
installed_version() {
    local pkg="$TOOLS_DIR/node_modules/$1/package.json"
    [ -f "$pkg" ] || return 0
    grep -o '"version": *"[^"]*"' "$pkg" | head -n1 | cut -d'"' -f4
}

# One npm install of every tool, and only when one is missing or at another
# version: with --no-save (no package.json here) npm removes whatever the
# command line does not name, so the tools must be installed together.
# --ignore-scripts: vnu-jar's postinstall would download a Java runtime from
# GitHub when no system Java is found; we use the system java.
if [ ! -f "$VNU_JAR" ] || [ "$(installed_version vnu-jar)" != "$VNU_VERSION" ] \
        || [ ! -f "$AXE_JS" ] || [ "$(installed_version axe-core)" != "$AXE_VERSION" ]; then
    echo "install-tools: npm install vnu-jar@$VNU_VERSION axe-core@$AXE_VERSION into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --no-save \
        --ignore-scripts "vnu-jar@$VNU_VERSION" "axe-core@$AXE_VERSION"
fi
for f in "$VNU_JAR" "$AXE_JS"; do
    [ -f "$f" ] || { echo "install-tools: $f missing after install" >&2; exit 1; }
done

echo "install-tools: ok (chromium: /usr/bin/chromium, java: $(command -v java), vnu.jar: $VNU_JAR, axe: $AXE_JS)"
