/**
 * The registry of known models: for each, its description (what `npm run weights` writes beside the ONNX file as
 * weights/NAME.json; the schema is src/graph/description.ts's) and where its two files come from — a file in
 * ../shared/weights when that folder sits beside the repository, else a public download address, or the reason there
 * is none. The one place a model's name, files and preprocessing are written down: scripts/weights.mjs, the command
 * line (src/cli/common.ts) and the web page's picker (web/vite.config.ts) all read it.
 *
 * Plain Node ESM data with no imports, so that it runs before anything is compiled (types in models.d.mts).
 */
export const MODELS = Object.freeze({
  'squeezenet1.1': {
    description: {
      name: 'squeezenet1.1',
      title: 'SqueezeNet 1.1',
      onnx: 'squeezenet1.1.onnx',
      labels: 'synset.txt',
      background: false,
      inputSize: 224,
      resize: 224,
      preprocessing: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    },
    files: {
      onnx: {
        shared: 'squeezenet1.1.onnx',
        url: 'https://github.com/onnx/models/raw/main/validated/vision/classification/squeezenet/model/squeezenet1.1-7.onnx',
        minBytes: 1 << 20,
        sha256: null,
      },
      labels: {
        shared: 'synset.txt',
        url: 'https://raw.githubusercontent.com/onnx/models/main/validated/vision/classification/synset.txt',
        lines: 1000,
      },
    },
    /** why there is no download address, when there is none */
    noDownload: null,
  },
  mobilenetv2: {
    description: {
      name: 'mobilenetv2',
      title: 'MobileNetV2 1.0/224 (TF-slim, 1001 classes)',
      onnx: 'mobilenetv2-1.0-224.onnx',
      labels: 'mobilenetv2-labels-1001.txt',
      background: true,
      inputSize: 224,
      resize: 224,
      preprocessing: { scale: 2, offset: -1 },
    },
    files: {
      onnx: {
        shared: 'mobilenetv2/mobilenetv2-1.0-224.onnx',
        url: null,
        minBytes: 1 << 20,
        sha256: 'ca9548963725d7910a2bc68d93ddf5850e6f1b555fdc766b05cae74a1e317ac0',
      },
      labels: { shared: 'mobilenetv2/labels-1001.txt', url: null, lines: 1001 },
    },
    noDownload:
      "this ONNX file is Google's quantization-aware TF-slim MobileNetV2 (mobilenet_v2_1.0_224_quant.tflite, " +
      'google-coral/test_data) dequantized to float32, which no public address serves (the ONNX model zoo\'s ' +
      'mobilenetv2-12 is a different training, with 1000 classes and mean/std inputs)',
  },
});

/** The model used when none is named. */
export const DEFAULT_MODEL = 'squeezenet1.1';
