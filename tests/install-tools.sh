#!/usr/bin/env bash
# Installs the external tools the test suite needs (chromium, a Java runtime,
# npm, and the Nu HTML checker vnu.jar), skipping whatever is already there.
# Idempotent; safe to run from any directory.
set -euo pipefail

VNU_VERSION="26.9.27"   # latest 26.x of the npm package vnu-jar

TESTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS_DIR="$TESTS_DIR/.tools"
VNU_JAR="$TOOLS_DIR/node_modules/vnu-jar/build/dist/vnu.jar"

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

installed_vnu=""
if [ -f "$TOOLS_DIR/node_modules/vnu-jar/package.json" ]; then
    installed_vnu="$(grep -o '"version": *"[^"]*"' \
        "$TOOLS_DIR/node_modules/vnu-jar/package.json" | head -n1 | cut -d'"' -f4)"
fi
if [ ! -f "$VNU_JAR" ] || [ "$installed_vnu" != "$VNU_VERSION" ]; then
    echo "install-tools: npm install vnu-jar@$VNU_VERSION into $TOOLS_DIR"
    mkdir -p "$TOOLS_DIR"
    # --ignore-scripts: vnu-jar's postinstall would download a Java runtime
    # from GitHub when no system Java is found; we use the system java.
    npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --no-save \
        --ignore-scripts "vnu-jar@$VNU_VERSION"
fi
[ -f "$VNU_JAR" ] || { echo "install-tools: $VNU_JAR missing after install" >&2; exit 1; }

echo "install-tools: ok (chromium: /usr/bin/chromium, java: $(command -v java), vnu.jar: $VNU_JAR)"
