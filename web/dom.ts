/** Small DOM helpers of the page: element lookup, canvases, downloads, numbers with units. */
import { toImageData } from '../src/image/browser-io.js';
import type { RgbImage8 } from '../src/image/image.js';

/** The element with this id; a missing one is a bug in index.html, said loudly. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no element #${id}`);
  return el as T;
}

export function make<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = Object.assign(document.createElement(tag), props);
  el.append(...children);
  return el;
}

/** Draws an 8-bit image on a canvas, resizing the canvas to it. */
export function paint(canvas: HTMLCanvasElement, image: RgbImage8): void {
  if (canvas.width !== image.width) canvas.width = image.width;
  if (canvas.height !== image.height) canvas.height = image.height;
  canvas.getContext('2d')!.putImageData(toImageData(image), 0, 0);
}

/** A canvas showing `image`, for strips of snapshots and maps, announced as an image described by `label`. */
export function canvasOf(image: RgbImage8, label: string, className = 'pic'): HTMLCanvasElement {
  const canvas = make('canvas', { className });
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  paint(canvas, image);
  return canvas;
}

/**
 * Marks a control unusable without `disabled`: a disabled element loses the keyboard focus (Enter on a run button
 * would drop it to the page's body), so it is aria-disabled instead, and a click on it is swallowed (main.ts's
 * setUpGuard).
 */
export function setUsable(el: HTMLElement, usable: boolean): void {
  if (usable) el.removeAttribute('aria-disabled');
  else el.setAttribute('aria-disabled', 'true');
}

/** Saves a Blob under a file name, through a temporary link. */
export function download(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = make('a', { href: url, download: fileName });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** "850 ms", "12.3 s". */
export function fmtMs(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A probability as a percentage: "43.2 %", "< 0.1 %". */
export function fmtPct(p: number): string {
  if (p > 0 && p < 0.001) return '< 0.1 %';
  return `${(100 * p).toFixed(1)} %`;
}

/** A number in a few significant digits, exponent form when small or large: norms of gradients. */
export function fmtNum(v: number | null): string {
  if (v === null) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e5 ? v.toPrecision(4) : v.toExponential(2);
}

export function setNumber(id: string, value: number): void {
  byId<HTMLInputElement>(id).value = String(value);
}

/** A file name without its extension: "chelsea.png" → "chelsea". */
export function stem(name: string): string {
  return name.replace(/\.[^.]*$/, '') || 'image';
}
