#!/usr/bin/env python3
"""Exports a torchvision classification CNN to ONNX, the way a user of pixelprop would make a model file.

    python3 scripts/torchvision/export.py ARCH OPSET OUT.onnx [--dynamic-batch] [--no-weights] [--seed S]
                                         [--test-data DIR [--batch N]]
    python3 scripts/torchvision/export.py --list

ARCH is a torchvision.models builder name (resnet18, mobilenet_v3_small, ...; --list prints the ones pixelprop
tracks). The network has random weights (seeded: the same file every time), is in eval mode (BatchNorm uses its
running statistics, Dropout is the identity), and is traced at batch 1 on its usual input size (299 for Inception v3,
224 otherwise) by torch.onnx.export at the given opset.

--dynamic-batch declares the batch dimension symbolic ('batch'), as most exported models do: PyTorch then keeps the
shape arithmetic of `x.view(x.size(0), -1)` and `torch.flatten` (Shape -> Gather -> Unsqueeze -> Concat -> Reshape)
in the graph instead of folding it, which is what pixelprop's fold pass has to handle.
--no-weights leaves the parameters out of the file (they become graph inputs): enough to see which ops a network
uses, without writing VGG's half a gigabyte.
--test-data DIR also writes DIR/test_data_set_0/input_0.pb and output_0.pb — a random batch of N images (default 1)
and PyTorch's output for it — in the ONNX test-data layout, so that `pixelprop run OUT.onnx DIR` checks pixelprop
against PyTorch.

Needs Debian's python3-torch (1.13) and python3-torchvision (0.14); it does not need the onnx Python package.
"""
import argparse
import sys

# name -> input side. The classification CNNs of torchvision 0.14 that pixelprop tracks (see the op inventory in
# docs/onnx-ops.md).
ARCHITECTURES = {
    'alexnet': 224,
    'vgg11': 224,
    'resnet18': 224,
    'resnet50': 224,
    'resnext50_32x4d': 224,
    'wide_resnet50_2': 224,
    'squeezenet1_0': 224,
    'squeezenet1_1': 224,
    'densenet121': 224,
    'googlenet': 224,
    'inception_v3': 299,
    'mobilenet_v2': 224,
    'mobilenet_v3_small': 224,
    'mobilenet_v3_large': 224,
    'mnasnet1_0': 224,
    'shufflenet_v2_x1_0': 224,
    'efficientnet_b0': 224,
    'regnet_y_400mf': 224,
    'convnext_tiny': 224,
}


def build(arch):
    import torchvision.models as models
    kwargs = {'weights': None}
    # GoogLeNet and Inception v3 build auxiliary classifiers by default; in eval mode they are never run, so leave
    # them out (they would only add unused weights). init_weights=False skips their slow truncated-normal init.
    if arch in ('googlenet', 'inception_v3'):
        kwargs.update(aux_logits=False, init_weights=False)
    return getattr(models, arch)(**kwargs)


def tensor_proto(name, array):
    """A float32 ONNX TensorProto, encoded by hand (the onnx package is not needed): dims (field 1), data_type
    (field 2, FLOAT = 1), name (field 8), raw_data (field 9, little-endian)."""
    import numpy as np

    def varint(v):
        out = bytearray()
        while True:
            byte = v & 0x7F
            v >>= 7
            out.append(byte | (0x80 if v else 0))
            if not v:
                return bytes(out)

    def field(number, wire, payload):
        return varint(number << 3 | wire) + payload

    data = np.ascontiguousarray(array, dtype='<f4').tobytes()
    encoded = b''.join(field(1, 0, varint(d)) for d in array.shape)
    encoded += field(2, 0, varint(1))
    encoded += field(8, 2, varint(len(name.encode())) + name.encode())
    encoded += field(9, 2, varint(len(data)) + data)
    return encoded


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('arch', nargs='?')
    p.add_argument('opset', nargs='?', type=int)
    p.add_argument('out', nargs='?')
    p.add_argument('--dynamic-batch', action='store_true', help="declare the batch dimension symbolic ('batch')")
    p.add_argument('--no-weights', action='store_true', help='leave the parameters out (they become graph inputs)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--test-data', metavar='DIR', help="also write a test set (input and PyTorch's output) to DIR")
    p.add_argument('--batch', type=int, default=1, help='images in the test set (default 1)')
    p.add_argument('--list', action='store_true', help='print the architectures and their input sizes')
    a = p.parse_args(argv)
    if a.list:
        for name, side in ARCHITECTURES.items():
            print(f'{name}\t{side}')
        return 0
    if not (a.arch and a.opset and a.out):
        p.error('ARCH, OPSET and OUT are required')
    if a.arch not in ARCHITECTURES:
        p.error(f"unknown architecture '{a.arch}' (known: {', '.join(ARCHITECTURES)})")

    import torch
    torch.manual_seed(a.seed)
    model = build(a.arch).eval()
    side = ARCHITECTURES[a.arch]
    x = torch.rand(1, 3, side, side)
    dynamic = {'input': {0: 'batch'}, 'output': {0: 'batch'}} if a.dynamic_batch else None
    with torch.no_grad():
        torch.onnx.export(
            model, x, a.out,
            opset_version=a.opset,
            input_names=['input'], output_names=['output'],
            dynamic_axes=dynamic,
            export_params=not a.no_weights,
            do_constant_folding=True,
        )
        if a.test_data:
            import os
            images = torch.rand(a.batch, 3, side, side)
            scores = model(images)
            folder = os.path.join(a.test_data, 'test_data_set_0')
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, 'input_0.pb'), 'wb') as f:
                f.write(tensor_proto('input', images.numpy()))
            with open(os.path.join(folder, 'output_0.pb'), 'wb') as f:
                f.write(tensor_proto('output', scores.numpy()))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
