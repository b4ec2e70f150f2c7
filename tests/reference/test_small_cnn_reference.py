"""Reference test: the built-in small_cnn against the same network in
PyTorch (scripts/bench/baseline_train.py's SmallCNN, whose module names are
zoo's), the way test_architectures_reference.py tests the torchvision ones.

For stages 2 (3x3 adaptive pooling, MLP head) and stages 3 (global pooling),
1-channel and 3-channel, PyTorch builds the model with a fixed seed,
randomises the BN statistics and affine parameters and the biases so that
eval mode is not an identity, scales the last Linear so the largest |logit|
is 2, and saves dict(state_dict()) and a .safetensors file. `zoo apply
--store-logits` on eight real 20x20 digits cut from opencv-doc's digits.png
must give PyTorch's logits within 1e-4 from both files. zoo optimises the
model for inference, so this also checks the 3x3 adaptive pooling, which
oneDNN cannot run (5x5 -> 3x3 does not divide) and zoo keeps dense.
`zoo inspect --json` must list the PyTorch model's named_modules()."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import torch

import zoo_reference as ref
from test_architectures_reference import LOGIT_SCALE, randomise
from test_weights_reference import save_safetensors

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "bench"))
from baseline_train import SmallCNN  # noqa: E402

TOL = 1e-4
CASES = [  # (label, entrypoint_args)
    ("stages 2", {"num_classes": 10, "in_channels": 1, "width": 32, "stages": 2, "dropout": 0.25}),
    ("stages 3", {"num_classes": 10, "in_channels": 1, "width": 32, "stages": 3, "dropout": 0.25}),
    ("stages 3, rgb, width 16", {"num_classes": 7, "in_channels": 3, "width": 16, "stages": 3, "dropout": 0.5}),
]


def digit_pngs(out):
    """Eight digits (two rows of each of 0, 3, 5, 9) as 20x20 grayscale PNGs."""
    sheet = cv2.imread(os.path.join(ref.PHOTOS, "digits.png"), cv2.IMREAD_GRAYSCALE)
    if sheet is None or sheet.shape != (1000, 2000):
        sys.exit("digits.png from opencv-doc is missing or not 2000x1000")
    paths = []
    for digit in (0, 3, 5, 9):
        for row, col in ((digit * 5, 7), (digit * 5 + 3, 61)):
            path = os.path.join(out, f"d{digit}-r{row:02d}c{col:03d}.png")
            cv2.imwrite(path, sheet[row * 20:(row + 1) * 20, col * 20:(col + 1) * 20])
            paths.append(path)
    return paths


def inputs_for(paths, channels):
    """zoo's input: the PNG decoded as gray (1 channel) or gray replicated
    (3 channels), /255, then (x - 0.5) / 0.5; 20x20, so no resize."""
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    out = []
    for path in paths:
        img = cv2.imread(path, flag).astype(np.float32) / 255.0
        img = img[None] if channels == 1 else img[:, :, ::-1].transpose(2, 0, 1)
        out.append(np.ascontiguousarray((img - 0.5) / 0.5))
    return torch.from_numpy(np.stack(out))


def randomise_and_scale(model, x):
    """test_architectures_reference.py's randomisation (BN statistics of
    these digits, perturbed; random affine BN parameters and biases), then
    the last Linear scaled so that the largest |logit| is LOGIT_SCALE."""
    randomise(model, x)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        scale = LOGIT_SCALE / float(model(x).abs().max())
        last.weight.mul_(scale)
        last.bias.mul_(scale)


def check(out, label, args, paths):
    torch.manual_seed(0)
    model = SmallCNN(num_classes=args["num_classes"], in_channels=args["in_channels"], width=args["width"],
                     stages=args["stages"], dropout=args["dropout"])
    x = inputs_for(paths, args["in_channels"])
    randomise_and_scale(model, x)
    with torch.no_grad():
        expected = model(x).numpy()
    stem = label.replace(" ", "_").replace(",", "")
    state = dict(model.state_dict())
    torch.save(state, os.path.join(out, f"{stem}.pth"))
    save_safetensors(state, os.path.join(out, f"{stem}.safetensors"))
    failures, worst = [], 0.0
    for weights in (f"{stem}.pth", f"{stem}.safetensors"):
        config = os.path.join(out, f"{weights}.yaml")
        mean = ", ".join(["0.5"] * args["in_channels"])
        with open(config, "w") as f:
            f.write(f"entrypoint: small_cnn\n"
                    f"entrypoint_args: {json.dumps(args)}\n"
                    f"weights: {weights}\n"
                    f"image_channels: {args['in_channels']}\nimage_size: [20, 20]\n"
                    f"image_mean: [{mean}]\nimage_std: [{mean}]\n")
        records, stderr = ref.run_zoo(["apply", config, *paths, "--top-k", "100", "--store-logits", "-q"])
        if "warning" in stderr:
            failures.append(f"{label}, {weights}: zoo warned: {stderr.strip()}")
        got = np.array([r["predictions"]["logits"] for r in records], dtype=np.float64)
        if [r["filepath"] for r in records] != paths or got.shape != expected.shape:
            failures.append(f"{label}, {weights}: records do not match the inputs: {records[:1]}")
            continue
        worst = max(worst, float(np.abs(got - expected).max()))
    proc = subprocess.run([ref.zoo_binary(), "inspect", os.path.join(out, f"{stem}.pth.yaml"), "--json"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return failures + [f"{label}: zoo inspect exited {proc.returncode}:\n{proc.stderr}"]
    names = [layer["name"] for layer in json.loads(proc.stdout)["layers"]]
    expected_names = [name for name, _ in model.named_modules() if name]
    if names != expected_names:
        failures.append(f"{label}: zoo's layers {names} are not PyTorch's {expected_names}")
    spread = float(np.abs(expected - expected.mean(axis=0)).max())
    print(f"{label}: max |logit diff| {worst:.2e} (logits spread {spread:.2f})")
    if worst > TOL:
        failures.append(f"{label}: logits differ from PyTorch's by {worst:.2e} > {TOL}")
    if spread < 0.1:
        failures.append(f"{label}: the digits all get about the same logits; the test would not see a wrong layer")
    return failures


def main():
    out = ref.tmp_dir("small_cnn_reference")
    paths = digit_pngs(out)
    failures = []
    for label, args in CASES:
        failures += check(out, label, args, paths)
    ref.finish(failures)


if __name__ == "__main__":
    main()
