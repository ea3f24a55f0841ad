/**
 * WebGPU's flag values, by the names the spec gives them (GPUBufferUsage, GPUMapMode). The browser defines them as
 * globals, Node's `webgpu` package only when its globals are installed: the engine names its own copies so that the
 * same code runs in both without touching globals.
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  QUERY_RESOLVE: 0x0200,
} as const;

export const MapMode = {
  READ: 0x0001,
} as const;
