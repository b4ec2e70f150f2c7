"""The models of scripts/bench/models.sh: for each architecture named, the
same network as zoo's built-in one, with random weights (torch.manual_seed(0);
BatchNorm statistics set from one batch of noise so that activations have
the scale of a trained network's rather than the tiny ones of a fresh init),
saved twice: OUT/NAME.pth (dict(state_dict()), what `entrypoint: NAME`
loads) and OUT/NAME.pt (torch.jit.script of the model, what `entrypoint:
torchscript` loads). torchvision builds every architecture but small_cnn,
which is baseline_train.py's SmallCNN (lib/models/arch_small_cnn.cpp's
network, with its default entrypoint_args).
Files already there are kept.
Usage: export_models.py OUT NAME..."""

import os
import sys

import torch
import torchvision
from torch import nn

from baseline_train import SmallCNN


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
