/**
 * Types for gifenc 1.0.3 (https://github.com/mattdesl/gifenc), which ships none: the part src/image/gif.ts uses.
 * A palette is a list of [r, g, b] colours in bytes; pixels are RGBA bytes, 4 a pixel.
 */
declare module 'gifenc' {
  export type Palette = number[][];
  export type ColorFormat = 'rgb565' | 'rgb444' | 'rgba4444';

  export interface FrameOptions {
    /** the frame's colour table: the first frame's becomes the global one, later frames' are local tables */
    palette?: Palette;
    /** milliseconds, stored in hundredths of a second */
    delay?: number;
    /** -1 plays once, 0 loops forever, n > 0 loops n more times (read from the first frame) */
    repeat?: number;
    transparent?: boolean;
    transparentIndex?: number;
    dispose?: number;
  }

  export interface Encoder {
    writeFrame(index: Uint8Array, width: number, height: number, options?: FrameOptions): void;
    finish(): void;
    /** a copy of the bytes written */
    bytes(): Uint8Array;
  }

  export function GIFEncoder(options?: { auto?: boolean; initialCapacity?: number }): Encoder;
  export function quantize(rgba: Uint8Array | Uint8ClampedArray, maxColors: number, options?: { format?: ColorFormat }): Palette;
  export function applyPalette(rgba: Uint8Array | Uint8ClampedArray, palette: Palette, format?: ColorFormat): Uint8Array;
}
