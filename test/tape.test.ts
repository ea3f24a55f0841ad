import { describe, expect, it } from 'vitest';
import { Tape, noGrad } from '../src/graph/tape.js';
import { Relu } from '../src/graph/ops/relu.js';
import { add } from '../src/graph/ops/add.js';
import { Tensor } from '../src/gpu/tensor.js';
import { expectClose, rand, toGpu, useGpu } from './helpers.js';

const gpu = useGpu();
const relu = (x: Tensor, name?: string): Tensor => Relu.apply(x, {}, name);

describe('tape', () => {
  it('a diamond accumulates both branches: z = relu(y) + y with y = relu(x)', async () => {
    const xh = rand([2, 3, 4, 5], 11);
    const x = toGpu(gpu(), xh, 'x');
    x.requiresGrad = true;
    const tape = new Tape();
    const z = tape.record(() => {
      const y = relu(x, 'y');
      const a = relu(y, 'a');
      const out = add(a, y, 'z');
      y.dispose(); // the tape keeps what backward needs
      a.dispose();
      return out;
    });
    const dz = rand([2, 3, 4, 5], 12);
    const [dx] = tape.backward(z, [x], { seed: toGpu(gpu(), dz, 'dz') });
    // dz/dy = [y > 0] + 1, dy/dx = [x > 0]  ⇒  dx = dz · [x > 0] · 2 (y > 0 ⇔ x > 0)
    const expected = xh.data.map((v, i) => (v > 0 ? 2 * dz.data[i]! : 0));
    expectClose(await dx!.read(), expected, 1e-6, 'diamond gradient');
    dx!.dispose();
    z.dispose();
    x.dispose();
  });

  it('a tensor used twice by one op (x + x) gets twice the gradient', async () => {
    const x = toGpu(gpu(), rand([7], 3), 'x');
    x.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => add(x, x));
    const [dx] = tape.backward(y, [x], { seed: Tensor.from(gpu(), [7], [1, 2, 3, 4, 5, 6, 7]) });
    expect(Array.from(await dx!.read())).toEqual([2, 4, 6, 8, 10, 12, 14]);
  });

  it('frees every intermediate: after backward only the caller-held tensors are in use', async () => {
    const before = gpu().memory().inUseBuffers;
    const x = toGpu(gpu(), rand([1, 8, 16, 16], 5), 'x');
    x.requiresGrad = true;
    const tape = new Tape();
    const z = tape.record(() => {
      let t = x;
      for (let i = 0; i < 5; i++) {
        const next = relu(t, `r${i}`);
        if (t !== x) t.dispose();
        t = next;
      }
      return t;
    });
    const seed = toGpu(gpu(), rand([1, 8, 16, 16], 6));
    const [dx] = tape.backward(z, [x], { seed });
    seed.dispose();
    z.dispose();
    expect(gpu().memory().inUseBuffers).toBe(before + 2); // x and dx
    x.dispose();
    dx!.dispose();
    expect(gpu().memory().inUseBuffers).toBe(before);
  });

  it('records nothing in noGrad and for inputs that require no gradient', () => {
    const x = toGpu(gpu(), rand([4], 1));
    x.requiresGrad = true;
    const tape = new Tape();
    tape.record(() => {
      noGrad(() => relu(x)).dispose();
      const w = toGpu(gpu(), rand([4], 2)); // requiresGrad false
      relu(w).dispose();
      w.dispose();
    });
    expect(tape.nodes.length).toBe(0);
    tape.dispose();
  });

  it('prints itself, op by op, with shapes', () => {
    const x = toGpu(gpu(), rand([1, 3, 2, 2], 1), 'image');
    x.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => add(relu(x, 'r'), x, 'sum'));
    expect(tape.toString()).toBe('#0 Relu(image[1,3,2,2]) → r[1,3,2,2]\n#1 Add(r[1,3,2,2], image[1,3,2,2]) → sum[1,3,2,2]');
    tape.dispose();
    y.dispose();
  });

  it('refuses a disposed tensor by name, and a second backward', () => {
    const x = toGpu(gpu(), rand([4], 1), 'pixels');
    x.dispose();
    expect(() => relu(x)).toThrow("tensor 'pixels' [4] was used after dispose");
    const y0 = toGpu(gpu(), rand([1], 1));
    y0.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => relu(y0));
    tape.backward(y, [y0])[0]!.dispose();
    expect(() => tape.backward(y, [y0])).toThrow('already used');
  });
});
