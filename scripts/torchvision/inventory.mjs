#!/usr/bin/env node
// The op inventory of exported ONNX files: which ONNX op types each file uses, as a table op → files.
//
//   node scripts/torchvision/inventory.mjs FILE.onnx ...
//
// A file's label is its name without .onnx (export-all.sh names them ARCH-OPSET[-dyn].onnx). Reads only the graph's
// node list (onnx-proto), so files exported with --no-weights work as well as full ones.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/torchvision/inventory.mjs FILE.onnx ...');
  process.exit(2);
}
const users = new Map(); // op type → Map(label → node count)
for (const file of files) {
  const label = basename(file).replace(/\.onnx$/, '');
  const model = onnx.ModelProto.decode(readFileSync(file));
  for (const node of model.graph?.node ?? []) {
    const op = node.opType ?? '?';
    if (!users.has(op)) users.set(op, new Map());
    const m = users.get(op);
    m.set(label, (m.get(label) ?? 0) + 1);
  }
}
for (const [op, m] of [...users].sort((a, b) => a[0].localeCompare(b[0]))) {
  console.log(`${op}\t${[...m].map(([l, k]) => `${l}×${k}`).join(' ')}`);
}
