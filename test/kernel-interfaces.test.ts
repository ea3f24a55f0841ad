/**
 * Every kernel's declared interface (src/gpu/kernel.ts) against its shader's text, without a GPU: each binding a
 * `var` of that name and access mode, the parameter struct exactly the declared fields in order with their types.
 * And the check itself: a swapped pair of fields, a wrong access mode or a missing binding must each be refused.
 */
import { describe, expect, it } from 'vitest';
import './kernel-helpers.js';
import type { Gpu } from '../src/gpu/device.js';
import { PixelpropError } from '../src/gpu/errors.js';
import { defineKernel, definedKernels } from '../src/gpu/kernel.js';
import { linkShaders, registerShaders } from '../src/gpu/shaders.js';
import { useGpu } from './helpers.js';

describe('kernel interfaces', () => {
  const kernels = definedKernels();

  it('every kernel module defines its kernels', () => {
    expect(kernels.length).toBeGreaterThan(30);
  });

  for (const k of kernels) {
    it(k.name, () => {
      // A kernel whose files depend on the device is checked with each choice.
      const choices = typeof k.spec.shader === 'function' ? [true, false].map((sub) => k.files({ subgroupsOf8: sub } as Gpu)) : [k.files(null)];
      for (const files of choices) expect(() => k.check(files)).not.toThrow();
    });
  }

  it('refuses a declaration that does not match the shader', () => {
    registerShaders({
      'interface_probe.wgsl': `
        struct P { n: u32, alpha: f32 }
        @group(0) @binding(0) var<uniform> p: P;
        @group(0) @binding(1) var<storage, read> a: array<f32>;
        @group(0) @binding(2) var<storage, read_write> out: array<f32>;
        @compute @workgroup_size(64) fn probe(@builtin(global_invocation_id) gid: vec3u) { out[gid.x] = p.alpha * a[gid.x] + f32(p.n); }`,
    });
    const declare = (params: Record<string, 'u32' | 'f32' | 'i32'>, bindings: Record<string, 'read' | 'read_write'>) =>
      defineKernel({ shader: 'interface_probe', entry: 'probe', params, bindings });
    expect(() => declare({ n: 'u32', alpha: 'f32' }, { a: 'read', out: 'read_write' }).check(['interface_probe'])).not.toThrow();
    const refused = (k: ReturnType<typeof declare>, text: string): void => {
      expect(() => k.check(['interface_probe'])).toThrow(PixelpropError);
      expect(() => k.check(['interface_probe'])).toThrow(text);
    };
    refused(declare({ alpha: 'f32', n: 'u32' }, { a: 'read', out: 'read_write' }), 'do not match struct P');
    refused(declare({ n: 'u32', alpha: 'u32' }, { a: 'read', out: 'read_write' }), 'do not match struct P');
    refused(declare({ n: 'u32', alpha: 'f32' }, { a: 'read_write', out: 'read_write' }), "binding 'a' is read in the shader, declared read_write");
    refused(declare({ n: 'u32', alpha: 'f32' }, { b: 'read', out: 'read_write' }), "binding 'b' is not declared");
    expect(() => defineKernel({ shader: 'interface_probe', entry: 'nope', params: {}, bindings: {} }).check(['interface_probe'])).toThrow('no @compute fn nope');
  });
});

describe('every kernel compiles on this adapter', () => {
  const gpu = useGpu();
  it('each linked shader module has no compilation error', async () => {
    const modules = new Set<string>();
    for (const k of definedKernels()) {
      if (k.spec.shader === 'interface_probe' || [k.spec.shader].flat().includes('interface_probe')) continue;
      modules.add(k.files(gpu()).join('+'));
    }
    const errors: string[] = [];
    for (const key of modules) {
      const code = linkShaders(key.split('+'));
      const info = await gpu().device.createShaderModule({ code }).getCompilationInfo();
      for (const m of info.messages) if (m.type === 'error') errors.push(`${key}:${m.lineNum}: ${m.message}`);
    }
    expect(errors).toEqual([]);
    expect(modules.size).toBeGreaterThan(10);
  });
});
