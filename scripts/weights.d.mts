/** Types of scripts/weights.mjs (plain Node ESM, so that it runs before anything is compiled). */
export interface EnsureWeightsOptions {
  /** Print nothing but errors (default false). */
  quiet?: boolean;
  /** Folder to fill (default: the repository's weights/, or $PIXELPROP_WEIGHTS_DIR). */
  weightsDir?: string;
  /** Folder to copy from (default: ../shared/weights beside the repository, or $PIXELPROP_SHARED_WEIGHTS); null: never copy. */
  sharedDir?: string | null;
  /** Download URLs (defaults: the ONNX model zoo's squeezenet1.1-7.onnx and synset.txt, or $PIXELPROP_MODEL_URL / $PIXELPROP_SYNSET_URL). */
  modelUrl?: string;
  synsetUrl?: string;
}

export type WeightsSource = 'present' | 'copied' | 'downloaded';

export interface WeightsPaths {
  dir: string;
  /** Absolute path of squeezenet1.1.onnx. */
  model: string;
  /** Absolute path of synset.txt. */
  synset: string;
  sources: { model: WeightsSource; synset: WeightsSource };
}

/** Makes sure both files are in place and valid; rejects with a one-line Error a person can act on. */
export declare function ensureWeights(options?: EnsureWeightsOptions): Promise<WeightsPaths>;
