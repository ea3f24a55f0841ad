"""Exports a torchvision model with random weights to ONNX, with its BatchNormalization nodes kept, and what PyTorch
computes for one random input: the tests' independent oracle for models pixelprop has no trained file of.

    python3 scripts/export-torchvision.py resnet18 OUT_DIR [--size 64] [--seed 0]

Writes OUT_DIR/model.onnx, and as little-endian float32: input.bin (x [1,3,S,S]), logits.bin ([1,1000]) and grad.bin
(∂ logits[0,k] / ∂x for the predicted class k, written to class.txt).

Why these export settings. torch.onnx.export in TrainingMode.EVAL (its default) runs a peephole pass that folds each
BatchNorm into the Conv before it (`_jit_pass_onnx_eval_peephole`, whatever do_constant_folding says); the tests
want the BatchNormalization nodes, to check pixelprop's own folding. TrainingMode.PRESERVE skips that pass and, for a
model in eval mode, still exports inference-form BatchNormalization (one output, running statistics as inputs);
do_constant_folding=False keeps the weights as written.

Random weights: torchvision's initialization leaves every BatchNorm the identity (γ 1, β 0, μ 0, σ² 1), which would
hide a wrong fold; the statistics and affine parameters are drawn at random instead.
"""
import argparse
import os

import torch
import torchvision
from torch.onnx import TrainingMode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('model')
    ap.add_argument('out')
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--seed', type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    model = getattr(torchvision.models, a.model)(weights=None)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()
    x = torch.rand(1, 3, a.size, a.size) * 2 - 1
    os.makedirs(a.out, exist_ok=True)
    torch.onnx.export(
        model,
        x,
        os.path.join(a.out, 'model.onnx'),
        opset_version=13,
        do_constant_folding=False,
        training=TrainingMode.PRESERVE,
        input_names=['input'],
        output_names=['logits'],
    )
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    k = int(logits.argmax())
    logits[0, k].backward()
    x.numpy().astype('<f4').tofile(os.path.join(a.out, 'input.bin'))
    logits.detach().numpy().astype('<f4').tofile(os.path.join(a.out, 'logits.bin'))
    xg.grad.numpy().astype('<f4').tofile(os.path.join(a.out, 'grad.bin'))
    with open(os.path.join(a.out, 'class.txt'), 'w') as f:
        f.write(f'{k}\n')


if __name__ == '__main__':
    main()
