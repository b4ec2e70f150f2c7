"""Reference test: TorchScript files with the activations that PyTorch
1.13's optimize_for_inference computes wrongly, run through zoo's default
optimisation, against PyTorch eager.

optimize_for_inference moves hardswish, hardsigmoid, hardtanh (ReLU6) and
clamp into MKLDNN, where 1.13 applies them to only part of a tensor whose
channel count is not a multiple of 16 (lib/models/model.cpp keeps such ops
out of MKLDNN). Untreated, a scripted torchvision mobilenet_v3_small is off
by ~1e-2 in its logits and mobilenet_v3_large picks other top-1 classes.

- torchvision's mobilenet_v3_small (torch.manual_seed(0), num_classes 10,
  randomised as in test_architectures_reference.py, logits scaled to at
  most 2), saved with torch.jit.script and with torch.jit.trace;
- a small network with each of those ops, in place and not, on 8, 24 and
  40 channels, after a convolution, on a sum and on a squeeze-excitation
  style [N, C, 1, 1] tensor;
- adaptive average pooling to 3x3 right after a 16-channel convolution,
  which oneDNN cannot run on a 16x16 map.

zoo apply --store-logits on two photos, in batches of 2 and of 1, must
match PyTorch's logits on zoo's preprocessing within 1e-4 (max abs diff).
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import zoo_reference as ref
from test_architectures_reference import (CALIBRATION_PHOTOS, LOGIT_SCALE, PHOTOS, logits_of, randomise,
                                          run_zoo)

TOL = 1e-4


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 24, 3, padding=1)
        self.conv3 = nn.Conv2d(24, 40, 3, stride=2, padding=1)
        self.squeeze = nn.Conv2d(40, 40, 1)
        self.conv4 = nn.Conv2d(40, 40, 1)
        self.fc = nn.Linear(40, 10)

    def forward(self, x):
        x = F.hardswish(self.conv1(x))
        x = F.relu6(self.conv2(x), inplace=True)
        x = torch.clamp(self.conv3(x), -1.0, 2.0)
        scale = F.hardsigmoid(self.squeeze(F.adaptive_avg_pool2d(x, 1)), inplace=True)
        x = F.hardswish(x * scale + self.conv4(x), inplace=True)
        x = F.hardtanh(x, -0.5, 0.5)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class AdaptivePool(nn.Module):
    """Adaptive average pooling to 3x3 of a 16x16 map, straight after a
    convolution with 16 channels: oneDNN cannot pool to a size that does
    not divide the input, and zoo must keep this op dense even where the
    convolution's output would stay in oneDNN for the activations above."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16 * 9, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.conv(x), 3), 1))


def check(out, name, model, pre, common, paths, failures):
    inputs = torch.from_numpy(np.stack([ref.preprocess(p, pre)[0] for p in paths]))
    expected = logits_of(model, list(inputs.numpy()))
    config = os.path.join(out, f"{name}.yaml")
    with open(config, "w") as f:
        f.write(f"entrypoint: torchscript\nweights: {name}.pt\n{common}")
    for batch in (2, 1):
        code, stdout, stderr = run_zoo(["apply", config, *paths, "--top-k", "10", "--store-logits", "-q",
                                        "--batch-size", str(batch)])
        if code != 0:
            failures.append(f"{name}, batch {batch}: zoo apply exited {code}:\n{stderr}")
            continue
        records = [json.loads(line) for line in stdout.splitlines() if line.strip()]
        got = np.array([r["predictions"]["logits"] for r in records], dtype=np.float64)
        if got.shape != expected.shape:
            failures.append(f"{name}, batch {batch}: logits of shape {got.shape}, PyTorch {expected.shape}")
            continue
        diff = float(np.abs(got - expected).max())
        print(f"{name:28s} batch {batch}: max |logit_zoo - logit_torch| = {diff:.2e} "
              f"(logits up to {np.abs(expected).max():.2f})")
        if diff > TOL:
            failures.append(f"{name}, batch {batch}: max logit diff {diff:.2e} > {TOL} ({config})")
        if stderr.strip():
            failures.append(f"{name}, batch {batch}: unexpected messages on stderr:\n{stderr}")


def main():
    out = ref.tmp_dir("reference_torchscript_activations")
    paths = [os.path.join(ref.PHOTOS, p) for p in PHOTOS]
    failures = []

    pre = {"image_dim": 256, "center_crop": [224, 224], "image_mean": ref.IMAGENET_MEAN,
           "image_std": ref.IMAGENET_STD}
    common = (f"image_dim: 256\ncenter_crop: 224\nimage_mean: {ref.IMAGENET_MEAN}\n"
              f"image_std: {ref.IMAGENET_STD}\n")
    calibration = torch.from_numpy(np.stack(
        [ref.preprocess(os.path.join(ref.PHOTOS, p), pre)[0] for p in CALIBRATION_PHOTOS]))
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_small(num_classes=10)
    randomise(model, calibration)
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        scale = LOGIT_SCALE / float(torch.from_numpy(logits_of(model, list(calibration.numpy()))).abs().max())
        last.weight.mul_(scale)
        last.bias.mul_(scale)
    torch.jit.script(model).save(os.path.join(out, "mobilenet_v3_small_scripted.pt"))
    with torch.no_grad():
        torch.jit.trace(model, calibration[:1]).save(os.path.join(out, "mobilenet_v3_small_traced.pt"))
    for name in ("mobilenet_v3_small_scripted", "mobilenet_v3_small_traced"):
        check(out, name, model, pre, common, paths, failures)

    torch.manual_seed(0)
    model = Activations().eval()
    torch.jit.script(model).save(os.path.join(out, "activations.pt"))
    pre = {"image_size": [32, 32], "image_mean": ref.IMAGENET_MEAN, "image_std": ref.IMAGENET_STD}
    common = f"image_size: [32, 32]\nimage_mean: {ref.IMAGENET_MEAN}\nimage_std: {ref.IMAGENET_STD}\n"
    check(out, "activations", model, pre, common, paths, failures)

    torch.manual_seed(0)
    model = AdaptivePool().eval()
    torch.jit.script(model).save(os.path.join(out, "adaptive_pool.pt"))
    check(out, "adaptive_pool", model, pre, common, paths, failures)

    ref.finish(failures)


if __name__ == "__main__":
    main()
