"""Small PyTorch networks whose ONNX exports exercise pixelprop's layout ops and shape-subgraph folding, written out
with PyTorch's own outputs and input gradients for test/torch-layout.test.ts.

    python3 test/torch_layout.py OUT_DIR

For every network and opset (11, 13, 17) it writes OUT_DIR/NAME-OPSET.onnx, exported with a symbolic batch (so
that PyTorch keeps the shape arithmetic of x.view(x.size(0), -1) and friends in the graph), and OUT_DIR/NAME.json
holding, for a batch of 1 and of 3: the input, the output, and the gradient of sum(output * seed) with respect to
the input (seed fixed and random), all float32 from PyTorch on the CPU.
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class ViewFlatten(nn.Module):
    """x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        return self.fc(x.view(x.size(0), -1))


class Shuffle(nn.Module):
    """ShuffleNet v2's unit, written without integer division: channel split by slicing (an open end: INT64_MAX),
    channel shuffle by view/transpose/view on sizes read from x.size(), a reflect pad, torch.flatten."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.branch = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(8 * 6 * 5, 6)

    def forward(self, x):
        x = F.relu(self.stem(x))
        a, b = x[:, :4], x[:, 4:]
        x = torch.cat((a, F.relu(self.branch(b))), 1)
        n, c, h, w = x.size()
        x = x.view(n, 2, -1, h, w).transpose(1, 2).contiguous().view(n, -1, h, w)
        x = F.pad(x, (1, 0, 2, 1), mode='reflect')
        x = F.avg_pool2d(x, 2, ceil_mode=True)
        return self.fc(torch.flatten(x, 1))


class Layouts(nn.Module):
    """ConvNeXt's NCHW <-> NHWC permutes around a product over the channels, edge and constant pads, a split, strided and reversed slices,
    a Gather on a float tensor, squeeze and unsqueeze, a repeat."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3)
        self.w = nn.Parameter(torch.randn(6, 6) / 3)   # a 1×1 conv as a product over the channels, in NHWC
        self.b = nn.Parameter(torch.randn(6) / 3)
        self.fc = nn.Linear(4 * 4 * 4, 4)

    def forward(self, x):
        x = F.pad(x, (1, 2, 0, 1), mode='replicate')            # [N, 3, 7, 9]
        x = self.conv(x)                                         # [N, 6, 5, 7]
        x = (torch.matmul(x.permute(0, 2, 3, 1), self.w) + self.b).permute(0, 3, 1, 2)
        x = F.pad(x, (0, 1, 1, 2), value=0.5)                    # [N, 6, 8, 8]
        p, q = torch.split(x, [2, 4], dim=1)
        p = p[:, :, ::2, 1::2].flip(3)                           # [N, 2, 4, 4]
        r = q[:, 1].unsqueeze(1)[:, :, 2:6, 1:5]                 # [N, 1, 4, 4]
        r = r.squeeze(1)[:, None].repeat(1, 2, 1, 1)             # [N, 2, 4, 4]
        return self.fc(torch.flatten(torch.cat((p, r), 1), 1))


NETWORKS = {'viewflatten': (ViewFlatten, 12), 'shuffle': (Shuffle, 8), 'layouts': (Layouts, 6)}
OPSETS = (11, 13, 17)


def main(out):
    torch.manual_seed(0)
    for name, (cls, side) in NETWORKS.items():
        net = cls().eval()
        record = {}
        for batch in (1, 3):
            x = torch.rand(batch, 3, side, side, requires_grad=True)
            y = net(x)
            seed = torch.rand(y.shape)
            (y * seed).sum().backward()
            record[str(batch)] = {
                'input': {'shape': list(x.shape), 'data': x.detach().flatten().tolist()},
                'output': {'shape': list(y.shape), 'data': y.detach().flatten().tolist()},
                'seed': seed.flatten().tolist(),
                'grad': x.grad.flatten().tolist(),
            }
        for opset in OPSETS:
            with torch.no_grad():
                torch.onnx.export(net, torch.rand(1, 3, side, side), f'{out}/{name}-{opset}.onnx', opset_version=opset,
                                  input_names=['input'], output_names=['output'],
                                  dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
        with open(f'{out}/{name}.json', 'w') as f:
            json.dump(record, f)


if __name__ == '__main__':
    main(sys.argv[1])
