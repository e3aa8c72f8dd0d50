#!/bin/sh
# Debian packages the tests need: chromium for the browser tests (playwright's own browser
# download does not work offline) and DejaVu Sans, whose Hebrew and Arabic glyphs the
# right-to-left PDF test draws with, and npm, which installs axe-core for the accessibility
# tests (tests/package.json). Needs root or sudo.
set -e
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
PACKAGES="chromium fonts-dejavu-core"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"  # node and npm from elsewhere are fine
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PACKAGES >/dev/null
command -v chromium
