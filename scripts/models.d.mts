/** Types of scripts/models.mjs (plain Node ESM data, so that it is read before anything is compiled). */
export interface RegistryFile {
  /** path inside ../shared/weights */
  shared: string;
  /** the public download address, or null when there is none (then the entry's noDownload says why) */
  url: string | null;
}

export interface RegistryEntry {
  /** the description JSON written beside the model (schema: src/graph/description.ts) */
  description: {
    name: string;
    title: string;
    onnx: string;
    labels: string;
    background: boolean;
    inputSize: number;
    resize: number;
    preprocessing: { mean: number[]; std: number[] } | { scale: number; offset: number };
  };
  files: {
    onnx: RegistryFile & { minBytes: number; sha256: string | null };
    labels: RegistryFile & { lines: number };
  };
  noDownload: string | null;
}

export declare const MODELS: Readonly<Record<string, RegistryEntry>>;
export declare const DEFAULT_MODEL: string;
