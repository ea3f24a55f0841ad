#!/usr/bin/env python3
"""Exports a torchvision classification CNN to ONNX, the way a user of pixelprop would make a model file, and
optionally what PyTorch computes for it: the tests' independent oracle for networks pixelprop has no trained file of.

    python3 scripts/torchvision/export.py ARCH OPSET OUT.onnx [--dynamic-batch] [--no-weights] [--seed S] [--size S]
                                         [--keep-batchnorm] [--random-batchnorm]
                                         [--export-batch N] [--test-data DIR] [--reference DIR] [--batch N]
    python3 scripts/torchvision/export.py --list

ARCH is a torchvision.models builder name (resnet18, mobilenet_v3_small, ...; --list prints the ones pixelprop
tracks, with their usual input side and the smallest side their export accepts). The network has random weights
(seeded: the same file every time), is in eval mode (BatchNorm uses its running statistics, Dropout is the identity),
and is traced at batch 1 (--export-batch N: N) by torch.onnx.export at the given opset, on its usual input size (299 for Inception v3, 224
otherwise) unless --size says another.

--size S: a smaller input makes every test faster. Only networks whose classifier is preceded by a global pooling
(AdaptiveAvgPool2d(1)) accept any side: torch.onnx exports an adaptive pooling to k×k only where the feature map is a
multiple of k, so AlexNet and VGG (AdaptiveAvgPool2d(6|7)) keep 224. The smallest side is where the last feature
map is still at least 1×1 (see MIN_SIDE).
--dynamic-batch declares the batch dimension symbolic ('batch'), as most exported models do: PyTorch then keeps the
shape arithmetic of `x.view(x.size(0), -1)` and `torch.flatten` (Shape -> Gather -> Unsqueeze -> Concat -> Reshape)
in the graph instead of folding it, which is what pixelprop's fold pass has to handle.
--no-weights leaves the parameters out of the file (they become graph inputs): enough to see which ops a network
uses, without writing VGG's half a gigabyte.
--keep-batchnorm keeps the BatchNormalization nodes. torch.onnx.export in TrainingMode.EVAL (its default) runs a
peephole pass that folds each BatchNorm into the Conv before it (`_jit_pass_onnx_eval_peephole`, whatever
do_constant_folding says); TrainingMode.PRESERVE skips that pass and, for a model in eval mode, still exports
inference-form BatchNormalization (one output, running statistics as inputs); constant folding is then left off too,
so that the weights are as written. For checking pixelprop's own folding.
--random-batchnorm draws each BatchNorm's statistics and affine parameters at random (γ in [0.5,1.5], β and μ in
[-0.5,0.5], σ² in [0.5,2]): torchvision's initialization leaves every BatchNorm the identity (γ 1, β 0, μ 0, σ² 1),
which would hide a wrong fold.
--test-data DIR also writes DIR/test_data_set_0/input_0.pb and output_0.pb — a random batch of N images in [0,1)
(default N=1) and PyTorch's output for it — in the ONNX test-data layout, so that `pixelprop run OUT.onnx DIR`
checks pixelprop against PyTorch.
--reference DIR writes, for a random batch of N images in [-1,1) (a normalized image's range), as little-endian
binaries: input.bin (float32 [N,3,S,S]), classes.txt (one class per image: the argmax of the float64 scores),
logits.bin (float32 [N,K], PyTorch in float32), grad32.bin (float32, ∂ Σ_i s_{i,y_i} / ∂x by PyTorch's float32
autograd) and grad64.bin (float64, the same by autograd on a float64 copy of the network, on the same float32 input).
grad32's distance from grad64 is what float32 arithmetic alone costs on this input: the yardstick for pixelprop's.
That distance is not one number, though: a ReLU pre-activation (or a max-pool pair) within float32 noise of a tie goes
one way in one float32 computation and the other way in another, and such a flip moves the gradient by far more than
rounding does (on ResNet-50, one unit at |z| = 1.9e-6 moves it by 1.2%). So grad32-jittered.bin (float32
[JITTER_DRAWS,N,3,S,S]) holds PyTorch's float32 gradients at the input moved by JITTER (1e-6: float32 noise, see
there) pixel by pixel at random, JITTER_DRAWS times: the band float32 computations of this input fall in.

Needs Debian's python3-torch (1.13) and python3-torchvision (0.14); it does not need the onnx Python package.
"""
import argparse
import copy
import os
import sys

# name -> (usual input side, smallest side the export accepts). The classification CNNs of torchvision 0.14 that
# pixelprop tracks (see the op inventory in docs/onnx-ops.md). The smallest sides: AlexNet and VGG end in an adaptive
# pooling to 6×6 / 7×7, which torch.onnx exports only where the map is a multiple of it (224 gives exactly 6×6 /
# 7×7); Inception v3's stem needs 75; the others downsample by 32 and accept 32 (one pixel at the end).
ARCHITECTURES = {
    'alexnet': (224, 224),
    'vgg11': (224, 224),
    'resnet18': (224, 32),
    'resnet50': (224, 32),
    'resnext50_32x4d': (224, 32),
    'wide_resnet50_2': (224, 32),
    'squeezenet1_0': (224, 32),
    'squeezenet1_1': (224, 32),
    'densenet121': (224, 32),
    'googlenet': (224, 32),
    'inception_v3': (299, 75),
    'mobilenet_v2': (224, 32),
    'mobilenet_v3_small': (224, 32),
    'mobilenet_v3_large': (224, 32),
    'mnasnet1_0': (224, 32),
    'shufflenet_v2_x1_0': (224, 32),
    'efficientnet_b0': (224, 32),
    'regnet_y_400mf': (224, 32),
    'convnext_tiny': (224, 32),
}


def build(arch):
    import torchvision.models as models
    kwargs = {'weights': None}
    # GoogLeNet and Inception v3 build auxiliary classifiers by default; in eval mode they are never run, so leave
    # them out (they would only add unused weights). init_weights=False skips their slow truncated-normal init.
    if arch in ('googlenet', 'inception_v3'):
        kwargs.update(aux_logits=False, init_weights=False)
    return getattr(models, arch)(**kwargs)


def randomize_batchnorm(model):
    import torch
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)


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


def write_test_data(model, folder, batch, side):
    import torch
    images = torch.rand(batch, 3, side, side)
    with torch.no_grad():
        scores = model(images)
    folder = os.path.join(folder, 'test_data_set_0')
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'input_0.pb'), 'wb') as f:
        f.write(tensor_proto('input', images.numpy()))
    with open(os.path.join(folder, 'output_0.pb'), 'wb') as f:
        f.write(tensor_proto('output', scores.numpy()))


# See --reference: a float32 computation's rounding errors put each layer's pre-activations ~1e-6 (relative to the
# layer's largest) off float64 (measured on ResNet-50: 0.4-2e-6, PyTorch and pixelprop alike); moving the input by as
# much flips the same kind of near-ties rounding does.
JITTER = 1e-6
JITTER_DRAWS = 8


def write_reference(model, folder, batch, side):
    """The input, PyTorch's float32 scores, and the input gradient of each image's class score by float32 and by
    float64 autograd (see --reference)."""
    import torch
    os.makedirs(folder, exist_ok=True)
    x = torch.rand(batch, 3, side, side) * 2 - 1
    model64 = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    s64 = model64(x64)
    classes = s64.argmax(dim=1)
    s64.gather(1, classes[:, None]).sum().backward()
    def grad32(images):
        images = images.clone().requires_grad_(True)
        scores = model(images)
        scores.gather(1, classes[:, None]).sum().backward()
        return scores, images.grad

    s32, g32 = grad32(x)
    # The float32 band: float32 gradients at the input moved by ±JITTER, pixel by pixel, each one draw.
    jittered = torch.stack([grad32(x + (torch.rand_like(x) * 2 - 1) * JITTER)[1] for _ in range(JITTER_DRAWS)])
    x.numpy().astype('<f4').tofile(os.path.join(folder, 'input.bin'))
    s32.detach().numpy().astype('<f4').tofile(os.path.join(folder, 'logits.bin'))
    g32.numpy().astype('<f4').tofile(os.path.join(folder, 'grad32.bin'))
    jittered.numpy().astype('<f4').tofile(os.path.join(folder, 'grad32-jittered.bin'))
    x64.grad.numpy().astype('<f8').tofile(os.path.join(folder, 'grad64.bin'))
    with open(os.path.join(folder, 'classes.txt'), 'w') as f:
        f.write(''.join(f'{int(k)}\n' for k in classes))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('arch', nargs='?')
    p.add_argument('opset', nargs='?', type=int)
    p.add_argument('out', nargs='?')
    p.add_argument('--dynamic-batch', action='store_true', help="declare the batch dimension symbolic ('batch')")
    p.add_argument('--no-weights', action='store_true', help='leave the parameters out (they become graph inputs)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--size', type=int, help='input side (default: the usual one, 224 or 299)')
    p.add_argument('--keep-batchnorm', action='store_true', help='export BatchNormalization nodes, not folded')
    p.add_argument('--random-batchnorm', action='store_true', help='random BatchNorm statistics and affine parameters')
    p.add_argument('--test-data', metavar='DIR', help="also write a test set (input and PyTorch's output) to DIR")
    p.add_argument('--reference', metavar='DIR', help="also write an input, PyTorch's scores and input gradients to DIR")
    p.add_argument('--batch', type=int, default=1, help='images in the test set or the reference (default 1)')
    p.add_argument('--export-batch', type=int, default=1, help='the batch traced, fixed in the file unless --dynamic-batch')
    p.add_argument('--list', action='store_true', help='print the architectures, their input sizes and smallest sizes')
    a = p.parse_args(argv)
    if a.list:
        for name, (side, smallest) in ARCHITECTURES.items():
            print(f'{name}\t{side}\t{smallest}')
        return 0
    if not (a.arch and a.opset and a.out):
        p.error('ARCH, OPSET and OUT are required')
    if a.arch not in ARCHITECTURES:
        p.error(f"unknown architecture '{a.arch}' (known: {', '.join(ARCHITECTURES)})")
    usual, smallest = ARCHITECTURES[a.arch]
    side = a.size or usual
    if side < smallest or (smallest == usual and side != usual):
        p.error(f'{a.arch} exports at side {usual}' + ('' if smallest == usual else f' or any side >= {smallest}'))

    import torch
    from torch.onnx import TrainingMode
    torch.manual_seed(a.seed)
    model = build(a.arch)
    if a.random_batchnorm:
        randomize_batchnorm(model)
    model.eval()
    x = torch.rand(a.export_batch, 3, side, side)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    dynamic = {'input': {0: 'batch'}, 'output': {0: 'batch'}} if a.dynamic_batch else None
    with torch.no_grad():
        torch.onnx.export(
            model, x, a.out,
            opset_version=a.opset,
            input_names=['input'], output_names=['output'],
            dynamic_axes=dynamic,
            export_params=not a.no_weights,
            do_constant_folding=not a.keep_batchnorm,
            training=TrainingMode.PRESERVE if a.keep_batchnorm else TrainingMode.EVAL,
        )
    if a.test_data:
        write_test_data(model, a.test_data, a.batch, side)
    if a.reference:
        write_reference(model, a.reference, a.batch, side)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
