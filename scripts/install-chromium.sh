#!/bin/sh
# Debian's chromium, for the browser tests (playwright's own browser download does not work
# offline). Needs root or sudo.
set -e
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium
