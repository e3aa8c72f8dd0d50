#!/bin/sh
# Debian packages the tests need: chromium for the browser tests (playwright's own browser
# download does not work offline) and DejaVu Sans, whose Hebrew and Arabic glyphs the
# right-to-left PDF test draws with. Needs root or sudo.
set -e
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
command -v chromium
