/**
 * The registry: every engine op of ./all.ts (one line each there). The model maps ONNX nodes to ops through it, and
 * gradcheck, the tape inspector and the docs list it.
 */
import { PixelpropError } from '../../gpu/errors.js';
import type { AnyOp } from '../op.js';
import * as all from './all.js';

/** Every op, in the order of their names. */
export const OPS: readonly AnyOp[] = Object.values(all as Record<string, AnyOp>).sort((a, b) => a.name.localeCompare(b.name));

/** The op that implements each ONNX op type. */
export const ONNX_OPS: ReadonlyMap<string, AnyOp> = (() => {
  const byType = new Map<string, AnyOp>();
  for (const op of OPS) {
    for (const type of op.onnx?.types ?? []) {
      if (byType.has(type)) throw new PixelpropError(`ONNX op ${type} is claimed by both ${byType.get(type)!.name} and ${op.name}`);
      byType.set(type, op);
    }
  }
  return byType;
})();

export function opNamed(name: string): AnyOp | undefined {
  return OPS.find((op) => op.name === name);
}
