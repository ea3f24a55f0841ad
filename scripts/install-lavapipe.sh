#!/usr/bin/env bash
# Installs a software WebGPU adapter for Dawn on Debian 12 (bookworm): Mesa 25's lavapipe from bookworm-backports.
# Idempotent; run as root (or with sudo). Other systems: any Mesa >= 24 with the Vulkan lavapipe driver works.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
export DEBIAN_FRONTEND=noninteractive
if dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[4-9]\.'; then
  echo "lavapipe from Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) is installed"
  exit 0
fi
. /etc/os-release
if [ "${VERSION_CODENAME:-}" != "bookworm" ]; then
  echo "install-lavapipe: this script knows Debian 12 (bookworm); on ${PRETTY_NAME:-this system} install Mesa >= 24's Vulkan drivers with its package manager" >&2
  exit 1
fi
# Reuse the mirror the machine already uses for bookworm.
mirror=$(grep -rhoE 'https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -v security | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" > /etc/apt/sources.list.d/pixelprop-backports.sources
fi
apt-get update -q
apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers libvulkan1
