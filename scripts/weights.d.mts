/** Types of scripts/weights.mjs (plain Node ESM, so that it runs before anything is compiled). */
import type { RegistryEntry } from './models.mjs';

export interface EnsureWeightsOptions {
  /** The known model to fetch (scripts/models.mjs; default squeezenet1.1). */
  model?: string;
  /** Print nothing but errors (default false). */
  quiet?: boolean;
  /** Folder to fill (default: the repository's weights/, or $PIXELPROP_WEIGHTS_DIR). */
  weightsDir?: string;
  /** Folder to copy from (default: ../shared/weights beside the repository, or $PIXELPROP_SHARED_WEIGHTS); null: never copy. */
  sharedDir?: string | null;
  /** Download addresses (defaults: the registry's, or $PIXELPROP_MODEL_URL / $PIXELPROP_SYNSET_URL). */
  modelUrl?: string;
  labelsUrl?: string;
}

export type WeightsSource = 'present' | 'copied' | 'downloaded';

export interface WeightsPaths {
  name: string;
  dir: string;
  /** Absolute path of the ONNX file. */
  model: string;
  /** Absolute path of the class names. */
  labels: string;
  /** Absolute path of the description NAME.json. */
  description: string;
  sources: { model: WeightsSource; labels: WeightsSource };
}

/** Makes sure the model's files are in place and valid; rejects with a one-line Error a person can act on. */
export declare function ensureWeights(options?: EnsureWeightsOptions): Promise<WeightsPaths>;

/** The registry's entry of `name`; throws an Error listing the known names otherwise. */
export declare function registryEntry(name: string): RegistryEntry;
