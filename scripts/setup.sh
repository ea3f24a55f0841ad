#!/usr/bin/env bash
# pixelprop's one set-up command, the README's first line and the first thing .ci/run does:
#
#   bash scripts/setup.sh              system packages (root or sudo), then npm ci, then npm run weights
#   bash scripts/setup.sh --no-system  only the npm steps (no root needed; the tests that need the system packages
#                                      then say which one is missing)
#   bash scripts/setup.sh --system-only
#
# System packages, on Debian 12 (bookworm) and later, from Debian's own archive:
#   WebGPU without a GPU   mesa-vulkan-drivers libvulkan1, Mesa >= 24 (lavapipe; on bookworm from bookworm-backports,
#                          because Dawn refuses bookworm's Mesa 22.3). Harmless beside a real GPU: Dawn prefers it.
#   the page's e2e test    chromium (headless, WebGPU on SwiftShader)
#   test references        python3-numpy python3-pil python3-matplotlib (image I/O), python3-torch
#                          python3-torchvision (real architectures, autograd), libonnx-testdata (ONNX's node tests),
#                          python3-scipy python3-skimage (Spearman's rho and SSIM of the attribution evaluation)
# Elsewhere it prints what to install and goes on with the npm steps.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
. "$here/lib/apt-sources.sh"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 2; }

system=1 npm=1
for arg in "$@"; do
  case "$arg" in
    --no-system) system=0 ;;
    --system-only) npm=0 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$arg' (try --help)" ;;
  esac
done

PACKAGES=(chromium python3-numpy python3-pil python3-matplotlib python3-torch python3-torchvision libonnx-testdata python3-scipy python3-skimage)
MESA_MIN=24

# The installed Mesa's major version, or nothing (dpkg-query fails for a package that is not installed).
mesa_major() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null) || return 0
  printf '%s' "$v" | sed -E 's/^([0-9]+:)?([0-9]+).*/\2/'
}

install_system() {
  if ! command -v apt-get >/dev/null || ! command -v dpkg-query >/dev/null; then
    say "no apt here: install by hand a Vulkan driver (a GPU's, or Mesa >= $MESA_MIN's lavapipe), Chromium, and"
    say "Python 3 with NumPy, Pillow, matplotlib, PyTorch and torchvision; then rerun with --no-system"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "installing system packages needs root: rerun as root, or with --no-system"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  local codename=''
  [ -r /etc/os-release ] && codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")

  local mesa_from=()
  local have; have=$(mesa_major)
  if [ -n "$have" ] && [ "$have" -ge "$MESA_MIN" ]; then
    say "lavapipe from Mesa $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) is installed"
  elif [ "$codename" = bookworm ]; then
    # bookworm's Mesa is 22.3; bookworm-backports has 25. Reuse the mirror the machine already uses.
    if apt_has_suite /etc/apt bookworm-backports; then
      say "bookworm-backports is already among apt's sources"
    else
      local mirror; mirror=$(apt_debian_mirror /etc/apt)
      if [ -z "$mirror" ]; then
        mirror=http://deb.debian.org/debian
        say "found no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/; using $mirror"
      fi
      say "adding bookworm-backports from $mirror (/etc/apt/sources.list.d/pixelprop-backports.sources)"
      printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
        "$mirror" | "${sudo[@]}" tee /etc/apt/sources.list.d/pixelprop-backports.sources >/dev/null
    fi
    mesa_from=(-t bookworm-backports)
  fi

  say "apt-get update"
  "${sudo[@]}" apt-get update -q || die "apt-get update failed (see above): check the network and apt's sources"
  say "installing Mesa's Vulkan drivers (lavapipe)${mesa_from[1]:+ from ${mesa_from[1]}}"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${mesa_from[@]}" mesa-vulkan-drivers libvulkan1 \
    || die "could not install mesa-vulkan-drivers (see above)"
  have=$(mesa_major)
  if [ -z "$have" ] || [ "$have" -lt "$MESA_MIN" ]; then
    say "warning: Mesa ${have:-?} is older than $MESA_MIN; Dawn needs a newer lavapipe or a real GPU's Vulkan driver"
  fi
  say "installing ${PACKAGES[*]}"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" \
    || die "could not install the test references (see above)"
}

install_npm() {
  command -v node >/dev/null || die "Node.js >= 20.19 is needed (https://nodejs.org, or your package manager)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js $(node --version) is too old: pixelprop needs >= 20.19"
  cd "$repo"
  say "npm ci (installs the packages and compiles the TypeScript into dist/)"
  npm ci --no-audit --no-fund
  say "npm run weights"
  npm run --silent weights
}

if [ "$system" = 1 ]; then install_system; fi
if [ "$npm" = 1 ]; then install_npm; fi
say "done"
