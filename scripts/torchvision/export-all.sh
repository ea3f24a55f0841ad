#!/usr/bin/env bash
# Exports every architecture of export.py at opsets 11, 13 and 17, with a fixed and with a symbolic batch, into DIR,
# then prints the op inventory (op → files). Weights are left out unless --weights is given (the ops are the same;
# the files are a few kB instead of gigabytes).
#
#   bash scripts/torchvision/export-all.sh DIR [--weights]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: export-all.sh DIR [--weights]}
weights=--no-weights
[ "${2:-}" = --weights ] && weights=
mkdir -p "$dir"
py=${PYTHON:-/usr/bin/python3}
for arch in $("$py" "$here/export.py" --list | cut -f1); do
  for opset in 11 13 17; do
    "$py" "$here/export.py" "$arch" "$opset" "$dir/$arch-$opset.onnx" $weights
    "$py" "$here/export.py" "$arch" "$opset" "$dir/$arch-$opset-dyn.onnx" --dynamic-batch $weights
  done
done
node "$here/inventory.mjs" "$dir"/*.onnx
