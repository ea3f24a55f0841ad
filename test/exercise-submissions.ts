/**
 * The submissions the exercise tests make, per exercise (src/teaching/exercises.ts): the reference solution, a classic
 * mistake, and one that does not compile. The last two are the solution (or the stub) with one edit, so that they
 * follow it, and so that the line a compile error must name is the edited line.
 */
import { exercise, type ExerciseId } from '../src/teaching/exercises.js';

/** `source` with `from` (which must occur exactly once) replaced by `to`. */
function edit(source: string, from: string, to: string): string {
  const at = source.indexOf(from);
  if (at < 0 || source.indexOf(from, at + 1) >= 0) throw new Error(`exercise submissions: '${from}' does not occur exactly once in the solution`);
  return source.slice(0, at) + to + source.slice(at + from.length);
}

/** The 1-based line of the first occurrence of `text`. */
export function lineOf(source: string, text: string): number {
  const at = source.indexOf(text);
  if (at < 0) throw new Error(`'${text}' is not in the source`);
  return source.slice(0, at).split('\n').length;
}

export interface Mistake {
  /** what the student got wrong */
  what: string;
  source: string;
}

export interface Broken {
  source: string;
  /** the line the compile error must name */
  line: number;
}

const solution = (id: ExerciseId): string => exercise(id).solution;

export const MISTAKES: Record<ExerciseId, Mistake> = {
  // from the stub, as a student would write it (the page's screenshot shows this one)
  relu: { what: 'ReLU without its mask', source: edit(exercise('relu').stub, 'dx[i] = 0.0; // your chain rule here', 'dx[i] = dy[i];') },
  maxpool: {
    what: 'max pooling routing dy to every element of the window',
    source: edit(
      solution('maxpool'),
      `      if (window_argmax(plane, top, left) == i) {
        sum += dy[(plane * p.out_height + oh) * p.out_width + ow];
      }`,
      '      sum += dy[(plane * p.out_height + oh) * p.out_width + ow];',
    ),
  },
  conv1x1: {
    what: 'a 1×1 convolution backward with w not transposed',
    source: edit(solution('conv1x1'), 'sum += w[co * p.in_channels + ci]', 'sum += w[ci * p.out_channels + co]'),
  },
  conv3x3: {
    what: 'a 3×3 convolution backward without flipping the kernel (the window walked the forward’s way)',
    source: edit(
      solution('conv3x3'),
      `let sh = ih + i32(p.pad) - i32(kh);
        let sw = iw + i32(p.pad) - i32(kw);`,
      `let sh = ih - i32(p.pad) + i32(kh);
        let sw = iw - i32(p.pad) + i32(kw);`,
    ),
  },
  globalavgpool: { what: 'global average pooling without the 1/(H·W)', source: edit(solution('globalavgpool'), 'dx[i] = dy[i / p.pixels] / f32(p.pixels);', 'dx[i] = dy[i / p.pixels];') },
};

function broken(id: ExerciseId, from: string, to: string): Broken {
  const source = edit(solution(id), from, to);
  return { source, line: lineOf(source, to) };
}

export const BROKEN: Record<ExerciseId, Broken> = {
  // select's condition must be a bool, not the f32 y[i]
  relu: broken('relu', 'dx[i] = select(0.0, dy[i], y[i] > 0.0);', 'dx[i] = select(0.0, dy[i], y[i]);'),
  // u32 (the argmax) compared with an i32
  maxpool: broken('maxpool', 'if (window_argmax(plane, top, left) == i) {', 'if (window_argmax(plane, top, left) == ih * i32(p.width) + iw) {'),
  // w is a flat array: w[co][ci] indexes an f32
  conv1x1: broken('conv1x1', 'sum += w[co * p.in_channels + ci]', 'sum += w[co][ci]'),
  // i32 + u32: WGSL does not convert
  conv3x3: broken('conv3x3', 'let sh = ih + i32(p.pad) - i32(kh);', 'let sh = ih + p.pad - kh;'),
  // f32 / u32
  globalavgpool: broken('globalavgpool', 'dx[i] = dy[i / p.pixels] / f32(p.pixels);', 'dx[i] = dy[i / p.pixels] / p.pixels;'),
};

/**
 * Kernels that never finish, as a student writes them by accident: a loop whose condition never turns false. The loop
 * stores on every iteration, so that no compiler may remove it (an empty endless loop is undefined behaviour that
 * lavapipe's LLVM deletes, and Tint refuses `loop {}` outright); without pixelprop's loop bound it hangs the device.
 */
export const ENDLESS = {
  relu: edit(solution('relu'), 'dx[i] = select(0.0, dy[i], y[i] > 0.0);', 'while (true) { dx[i] = select(0.0, dy[i], y[i] > 0.0); }'),
};
