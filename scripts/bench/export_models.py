"""The models of scripts/bench/models.sh: for each architecture named, the
same network as zoo's built-in one, with random weights (torch.manual_seed(0);
BatchNorm statistics set from one batch of noise so that activations have
the scale of a trained network's rather than the tiny ones of a fresh init),
saved twice: OUT/NAME.pth (dict(state_dict()), what `entrypoint: NAME`
loads) and OUT/NAME.pt (torch.jit.script of the model, what `entrypoint:
torchscript` loads). torchvision builds every architecture but small_cnn,
which is written out below as lib/models/arch_small_cnn.cpp defines it.
Files already there are kept.
Usage: export_models.py OUT NAME..."""

import os
import sys

import torch
import torch.nn.functional as F
import torchvision
from torch import nn


class SmallCNN(nn.Module):
    """lib/models/arch_small_cnn.cpp with its default entrypoint_args
    (num_classes 10, in_channels 1, width 32, dropout 0.25)."""

    def __init__(self, num_classes=10, in_channels=1, width=32, dropout=0.25):
        super().__init__()
        w = width

        def conv(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.features = nn.Sequential(*conv(in_channels, w), *conv(w, w), nn.MaxPool2d(2),
                                      *conv(w, 2 * w), *conv(2 * w, 2 * w), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * w * 9, 128), nn.ReLU(),
                                        nn.Dropout(dropout), nn.Linear(128, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, [3, 3])
        x = torch.flatten(x, 1)
        return self.classifier(x)


def build(name):
    if name == "small_cnn":
        return SmallCNN(), (2, 1, 20, 20)
    return getattr(torchvision.models, name)(), (2, 3, 224, 224)


def set_batch_norm_statistics(model, shape):
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: one batch sets the statistics
    model.train()
    with torch.no_grad():
        model(torch.randn(shape))
    for m in bns:
        m.momentum = 0.1


def main():
    out, names = sys.argv[1], sys.argv[2:]
    os.makedirs(out, exist_ok=True)
    for name in names:
        pth, pt = os.path.join(out, f"{name}.pth"), os.path.join(out, f"{name}.pt")
        if os.path.exists(pth) and os.path.exists(pt):
            continue
        torch.manual_seed(0)
        model, shape = build(name)
        set_batch_norm_statistics(model, shape)
        model.eval()
        torch.save(dict(model.state_dict()), pth + ".tmp")
        torch.jit.script(model).save(pt + ".tmp")
        os.replace(pth + ".tmp", pth)
        os.replace(pt + ".tmp", pt)
        print(f"exported {name}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
