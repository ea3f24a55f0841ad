/**
 * How a classifier's output is read as scores [N, K]. Exporters end SqueezeNet in several layouts: Flatten or Reshape
 * give [N, K], but a graph that stops at the pooled classifier (or passes it through an Identity) gives [N, K, 1, 1].
 * Trailing dimensions of size 1 carry nothing and are dropped; their data is laid out as [N, K] already. Any other
 * shape is not a list of class scores per image and is refused with one line, before anything runs.
 */
import { check, fmtShape } from '../gpu/errors.js';

/** K of an output `shape` read as [N, K] once its trailing 1s are dropped; a PixelpropError when it cannot be. */
export function classCount(name: string, shape: readonly number[]): number {
  let rank = shape.length;
  while (rank > 2 && shape[rank - 1] === 1) rank--;
  check(
    rank === 2,
    () => `the model's output '${name}' ${fmtShape(shape)} cannot be read as [N, classes] (scores per image; trailing dimensions of 1 are dropped)`,
  );
  return shape[1]!;
}
