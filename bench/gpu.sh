#!/usr/bin/env bash
# The GPU check, prepared for a machine with an NVIDIA GPU (Debian or Ubuntu, root, the NVIDIA driver installed,
# Node >= 20.19): run from the repository root,
#
#   bash bench/gpu.sh [OUT_DIR]          (default OUT_DIR: gpu-results)
#
# 1. installs what Dawn needs to reach the NVIDIA Vulkan driver: the Vulkan loader (libvulkan1; the ICD, the
#    driver's own nvidia_icd.json, comes with the driver) and vulkaninfo to check it;
# 2. makes the NVIDIA ICD the only Vulkan driver the process sees (VK_DRIVER_FILES / VK_ICD_FILENAMES), so that
#    Dawn cannot fall back to Mesa's lavapipe on the CPU, and checks that the adapter pixelprop gets is the NVIDIA one;
# 3. runs the GPU part of the tests (the kernel and model test files) with vitest;
# 4. runs `npm run bench -- --json` (ceilings, SqueezeNet 1.1 and MobileNetV2 rows, kernel table) and the roofline;
# 5. prints one table: the adapter, the ceilings, the model rows with their share of the FMA peak, the tests.
#
# Everything goes to OUT_DIR: bench.json, roofline.svg, tests.log, bench.log. Exit status: 2 when the machine is not
# set up for it (no root, no GPU driver, no Vulkan ICD, an old Node), 1 when a test failed, 0 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-results}
say() { printf 'gpu.sh: %s\n' "$*"; }
die() { printf 'gpu.sh: %s\n' "$*" >&2; exit 2; }

[ "$(id -u)" -eq 0 ] || die "run as root (it installs libvulkan1 with apt-get)"
command -v apt-get >/dev/null || die "no apt-get: this script is for Debian or Ubuntu"
command -v nvidia-smi >/dev/null || die "no nvidia-smi: install the NVIDIA driver first"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || die "nvidia-smi cannot reach the GPU"
command -v node >/dev/null || die "no node: install Node >= 20.19 (e.g. from nodejs.org) first"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "Node $(node --version) is too old: pixelprop needs >= 20.19"

say "installing the Vulkan loader"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq libvulkan1 vulkan-tools >/dev/null

# The driver's ICD manifest: where the .run installer and the distribution packages put it. In a container the
# driver's Vulkan part is only mounted with NVIDIA_DRIVER_CAPABILITIES including 'graphics' (or 'all').
icd=''
for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
  if [ -r "$f" ]; then icd=$f; break; fi
done
[ -n "$icd" ] || die "no nvidia_icd.json: the NVIDIA driver's Vulkan ICD is missing (in a container: NVIDIA_DRIVER_CAPABILITIES=all)"
export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|driverName' || die "vulkaninfo sees no device through $icd"

say "npm ci, weights, build"
[ -d node_modules ] || npm ci
npm run weights
npm run build >/dev/null

adapter=$(node --input-type=module -e "
  const { createDevice } = await import('./dist/src/index.js');
  const gpu = await createDevice();
  console.log(gpu.adapterName);
  gpu.destroy();
  process.exit(0);")
say "adapter: $adapter"
case "$adapter" in
  *[Nn][Vv][Ii][Dd][Ii][Aa]*) ;;
  *) die "the adapter is not the NVIDIA GPU ($adapter)" ;;
esac

mkdir -p "$out"
# The tests that dispatch kernels and run whole models on the GPU (the rest are CPU-only or browser tests).
tests=(test/gpu.test.ts test/conv2d.test.ts test/conv2d-tiled.test.ts test/conv2d-grouped.test.ts test/gemm.test.ts
  test/pool.test.ts test/small-kernels.test.ts test/model.test.ts test/precision.test.ts test/bench-counting.test.ts)
say "tests: ${tests[*]}"
tests_status=0
npx vitest run "${tests[@]}" >"$out/tests.log" 2>&1 || tests_status=$?
tail -5 "$out/tests.log"

say "npm run bench -- --json (ceilings, models, kernels, roofline)"
npm run --silent bench -- --json --roofline "$out/roofline.svg" >"$out/bench.json" 2>"$out/bench.log"

node --input-type=module -e "
  import { readFileSync } from 'node:fs';
  const { modelTable } = await import('./dist/bench/model.js');
  const { ceilingTable } = await import('./dist/bench/ceiling.js');
  const r = JSON.parse(readFileSync('$out/bench.json', 'utf8'));
  console.log('\n' + r.adapter + '\n' + r.machine + '\n');
  console.log(ceilingTable(r.ceilings) + '\n');
  console.log(modelTable(r.model));
  console.log('\ntests (' + '${tests[*]}'.split(' ').length + ' files): ' + ($tests_status === 0 ? 'passed' : 'FAILED, see $out/tests.log'));
  console.log('kernel table and roofline: $out/bench.json, $out/roofline.svg');
  process.exit(0);"
[ "$tests_status" -eq 0 ] || exit 1
