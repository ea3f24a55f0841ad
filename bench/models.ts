/**
 * The models the benchmarks run, and where their files are. SqueezeNet 1.1 comes from weights/ (`npm run weights`);
 * MobileNetV2 from weights/ too (`npm run weights -- --model mobilenetv2`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/cli/common.js';

export { MOBILENET_V2, SQUEEZENET } from './result.js';

/**
 * MobileNetV2 1.0/224 (TF-slim, 1001 classes, inputs in [−1, 1]) where `npm run weights -- --model mobilenetv2` puts
 * it: weights/, named by the models registry (scripts/models.mjs).
 */
export function mobilenetV2Path(): string {
  return join(packageRoot(), 'weights', 'mobilenetv2-1.0-224.onnx');
}

/** The MobileNetV2 file, or null with the reason when it is not there (the benchmarks then leave its rows out). */
export function findMobilenetV2(): { path: string } | { missing: string } {
  const path = mobilenetV2Path();
  return existsSync(path) ? { path } : { missing: `MobileNetV2 rows left out: no model file at ${path} (npm run weights -- --model mobilenetv2)` };
}
