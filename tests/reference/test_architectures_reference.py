"""Reference test: every built-in architecture against torchvision.

For each architecture torchvision builds the model (torch.manual_seed(0),
num_classes 10 so the heads stay small; the rest of the structure is the
ImageNet one) and randomises what its init leaves constant, so that eval
mode is not an identity: BN affine parameters and running statistics
(measured on six photos, then perturbed), LayerNorm affine parameters,
biases, ConvNeXt's layer_scale, ViT's class token and zero head. The last
Linear is scaled so that the largest |logit| is 2: fp32 rounding grows
with the logits (at 2, PyTorch's own fp32 logits are up to 2e-5 from fp64
ones for the ResNet-50 family and 1e-6 for ViT; at 10 they are 1e-4 off
for wide_resnet50_2, as much as the tolerance). The model is saved as
dict(state_dict()); PyTorch computes the logits of two photos with zoo's
preprocessing, and `zoo apply --store-logits` with the built-in
architecture loading that file, and the same tensors as a .safetensors
file, must match them within 1e-4 (max abs diff, the worse of the two). Entrypoints are spelt in several torchvision ways
(torchvision.models.mobilenet.mobilenet_v2, ...), and an unknown name
("mobilenetv2") must be an error that suggests the closest names.

Layer names: `zoo inspect --json` must list exactly torchvision's
named_modules(), in the same order, parameter-free ones included (ReLU,
pools, squeeze-excitation activations, ConvNeXt's Permute and GELU), so
that any FiftyOne embeddings_layer works as `zoo embed --layer`. For one
such parameter-free layer per family (LAYER_PROBES) zoo embed must match a
PyTorch forward hook on that module within 1e-4.

resnet18 has its own test (test_resnet18_reference.py); small_cnn,
which torchvision does not have, has test_small_cnn_reference.py. ZOO_ARCHS=name,name runs a subset (for debugging); a
failing load prints zoo's list of missing, unexpected and mis-shaped
tensors, which is the name/shape diff against torchvision."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torchvision

import zoo_reference as ref
from test_embed_reference import hooked, pooled
from test_weights_reference import save_safetensors

TOL = 1e-4
# The largest |logit| (the last Linear is scaled to it); see above.
LOGIT_SCALE = 2.0
NUM_CLASSES = 10
PHOTOS = ["baboon.jpg", "fruits.jpg"]
CALIBRATION_PHOTOS = ["baboon.jpg", "fruits.jpg", "aloeL.jpg", "HappyFish.jpg", "building.jpg", "messi5.jpg"]

# (label, entrypoint as written in the config, torchvision builder, kwargs)
ARCHITECTURES = [
    ("resnet34", "resnet34", "resnet34", {}),
    ("resnet50", "torchvision.models.resnet50", "resnet50", {}),
    ("resnet101", "torchvision.models.resnet.resnet101", "resnet101", {}),
    ("resnet152", "resnet152", "resnet152", {}),
    ("resnext50_32x4d", "torchvision.models.resnet.resnext50_32x4d", "resnext50_32x4d", {}),
    ("wide_resnet50_2", "wide_resnet50_2", "wide_resnet50_2", {}),
    ("mobilenet_v2", "torchvision.models.mobilenet.mobilenet_v2", "mobilenet_v2", {}),
    ("mobilenet_v2 width 0.75", "mobilenet_v2", "mobilenet_v2", {"width_mult": 0.75}),
    ("mobilenet_v3_small", "torchvision.models.mobilenetv3.mobilenet_v3_small", "mobilenet_v3_small", {}),
    ("mobilenet_v3_large", "torchvision.models.mobilenet_v3_large", "mobilenet_v3_large", {}),
    ("efficientnet_b0", "torchvision.models.efficientnet.efficientnet_b0", "efficientnet_b0", {}),
    ("efficientnet_b1", "efficientnet_b1", "efficientnet_b1", {}),
    ("efficientnet_b2", "efficientnet_b2", "efficientnet_b2", {}),
    ("efficientnet_b3", "torchvision.models.efficientnet_b3", "efficientnet_b3", {}),
    ("densenet121", "torchvision.models.densenet.densenet121", "densenet121", {}),
    ("convnext_tiny", "torchvision.models.convnext.convnext_tiny", "convnext_tiny", {}),
    ("vit_b_16", "torchvision.models.vision_transformer.vit_b_16", "vit_b_16", {}),
]

# A parameter-free layer per family whose output zoo embed must reproduce.
LAYER_PROBES = {
    "resnet50": "layer3.1.relu",
    "mobilenet_v3_large": "features.4.block.2.scale_activation",
    "efficientnet_b0": "avgpool",
    "densenet121": "features.transition2.pool",
    "convnext_tiny": "features.1.0.block.6",
}


def resolves_in_torchvision(spelling, builder):
    """The config spelling names the same function in torchvision."""
    if "." not in spelling:
        return spelling == builder
    module_name, _, attr = spelling.rpartition(".")
    module = __import__(module_name, fromlist=[attr])
    return getattr(module, attr) is getattr(torchvision.models, builder)


def randomise(model, calibration):
    """Give every parameter and buffer a value that matters in eval mode.

    BN running statistics are first measured on `calibration` images (in
    train mode), then perturbed: made-up statistics (mean 0, var 1) would
    drown the signal of MobileNets and EfficientNets, whose depthwise convs
    start small, in BN shifts, and every photo would get the same logits."""
    with torch.no_grad():
        bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        momentum = {}
        for m in bns:
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.1, 0.1)
            m.reset_running_stats()
            momentum[m] = m.momentum
            m.momentum = None  # cumulative average
        model.train()
        model(calibration)
        model.eval()
        for m in bns:
            m.momentum = momentum[m]
            m.running_mean.add_(torch.empty_like(m.running_mean).uniform_(-0.1, 0.1) * m.running_var.sqrt())
            m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.8, 1.25))
            m.num_batches_tracked.fill_(7)
        for m in model.modules():
            if isinstance(m, torch.nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
            elif isinstance(m, torch.nn.MultiheadAttention):
                m.in_proj_bias.uniform_(-0.1, 0.1)
            elif isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)) and m.bias is not None:
                m.bias.uniform_(-0.1, 0.1)
        # Trained ResNets end each residual branch in a BN with a small
        # gamma (torchvision's zero_init_residual starts it at 0). With
        # gammas of 0.5-1.5 there, the blocks add up until PyTorch's own
        # fp32 logits of resnet152 are 1.8e-4 from fp64 ones (zoo's 2.1e-4),
        # more than the tolerance; at a fifth of that, both are within 1e-6.
        for m in model.modules():
            last_bn = getattr(m, "bn3", None) if isinstance(m, torchvision.models.resnet.Bottleneck) else \
                getattr(m, "bn2", None) if isinstance(m, torchvision.models.resnet.BasicBlock) else None
            if last_bn is not None:
                last_bn.weight.mul_(0.2)
                last_bn.bias.mul_(0.2)
        for name, p in model.named_parameters():
            if name.endswith("layer_scale"):
                p.uniform_(0.1, 0.5)
            elif name == "class_token":
                p.normal_(0.0, 1.0)
            elif name == "heads.head.weight":
                p.normal_(0.0, 0.02)


def logits_of(model, inputs):
    with torch.no_grad():
        return model(torch.from_numpy(np.stack(inputs))).numpy()


def run_zoo(args):
    # Passive OpenMP waiting: on a machine busy with other jobs, spinning
    # Torch threads made single runs 10-30x slower (the values do not change).
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")
    proc = subprocess.run([ref.zoo_binary()] + args, capture_output=True, text=True, env=env)
    return proc.returncode, proc.stdout, proc.stderr


def check_architecture(out, label, entrypoint, builder, kwargs, inputs, calibration, paths, common):
    """Max abs logit diff for one architecture, or an error string."""
    if not resolves_in_torchvision(entrypoint, builder):
        return None, f"{entrypoint} is not torchvision's {builder}"
    torch.manual_seed(0)
    model = getattr(torchvision.models, builder)(num_classes=NUM_CLASSES, **kwargs)
    randomise(model, calibration)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        scale = LOGIT_SCALE / max(float(np.abs(logits_of(model, inputs)).max()), 1e-12)
        last.weight.mul_(scale)
        last.bias.mul_(scale)
    expected = logits_of(model, inputs)

    stem = label.replace(" ", "_")
    state = dict(model.state_dict())
    torch.save(state, os.path.join(out, f"{stem}.pth"))
    save_safetensors(state, os.path.join(out, f"{stem}.safetensors"))
    args = {"num_classes": NUM_CLASSES, **kwargs}
    worst = 0.0
    try:
        for weights in (f"{stem}.pth", f"{stem}.safetensors"):
            config = os.path.join(out, f"{weights}.yaml")
            with open(config, "w") as f:
                f.write(f"entrypoint: {entrypoint}\n"
                        f"entrypoint_args: {{{', '.join(f'{k}: {v}' for k, v in args.items())}}}\n"
                        f"weights: {weights}\n{common}")
            code, stdout, stderr = run_zoo(["apply", config, *paths, "--top-k", "1000", "--store-logits", "-q"])
            if code != 0:
                return None, f"zoo apply with {weights} exited {code}:\n{stderr}"
            records = [json.loads(line) for line in stdout.splitlines() if line.strip()]
            if [r["filepath"] for r in records] != paths:
                return None, f"{weights}: records are not one per input in input order: {stdout[:500]}"
            got = np.array([r["predictions"]["logits"] for r in records], dtype=np.float64)
            if got.shape != expected.shape:
                return None, f"{weights}: logits of shape {got.shape}, PyTorch {expected.shape}"
            worst = max(worst, float(np.abs(got - expected).max()))
            if weights.endswith(".pth"):
                layer_error = check_layers(out, label, config, model, inputs, paths)
                if layer_error:
                    return None, layer_error
    finally:
        for weights in (f"{stem}.pth", f"{stem}.safetensors"):  # the big ones are 100-350 MB
            os.remove(os.path.join(out, weights))
    spread = float(np.abs(expected[0] - expected[1]).max())
    return worst, spread


def check_layers(out, label, config, model, inputs, paths):
    """zoo's layer names are torchvision's, in order, and the probe layer's
    embedding matches a forward hook. An error string, or None."""
    code, stdout, stderr = run_zoo(["inspect", config, "--json"])
    if code != 0:
        return f"zoo inspect exited {code}:\n{stderr}"
    names = [layer["name"] for layer in json.loads(stdout)["layers"]]
    expected = [name for name, _ in model.named_modules() if name]
    if names != expected:
        missing = [n for n in expected if n not in names]
        extra = [n for n in names if n not in expected]
        return (f"layer names differ from torchvision's: missing {missing[:10]}, unexpected {extra[:10]}"
                + ("" if missing or extra else ", order differs"))
    probe = LAYER_PROBES.get(label)
    if probe is None:
        print(f"{label:24s} {len(names)} layer names as torchvision's")
        return None
    npy = os.path.join(out, "probe.npy")
    code, _, stderr = run_zoo(["embed", config, *paths, "--layer", probe, "-o", npy, "-q"])
    if code != 0:
        return f"zoo embed --layer {probe} exited {code}:\n{stderr}"
    want = pooled(hooked(model, probe, torch.from_numpy(np.stack(inputs))), "avg")
    got = np.load(npy)
    diff = float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")
    print(f"{label:24s} {len(names)} layer names as torchvision's; embed --layer {probe}: {got.shape}, "
          f"max |zoo - torch| = {diff:.2e}")
    return None if diff <= TOL else f"embed --layer {probe}: shape {got.shape} vs {want.shape}, max diff {diff:.2e}"


def main():
    out = ref.tmp_dir("reference_architectures")
    only = [a for a in os.environ.get("ZOO_ARCHS", "").split(",") if a]
    pre = {"image_dim": 256, "center_crop": [224, 224], "image_mean": ref.IMAGENET_MEAN,
           "image_std": ref.IMAGENET_STD}
    common = (f"image_dim: 256\ncenter_crop: 224\nimage_mean: {ref.IMAGENET_MEAN}\n"
              f"image_std: {ref.IMAGENET_STD}\n")
    paths = [os.path.join(ref.PHOTOS, p) for p in PHOTOS]
    inputs = [ref.preprocess(p, pre)[0] for p in paths]
    calibration = torch.from_numpy(np.stack(
        [ref.preprocess(os.path.join(ref.PHOTOS, p), pre)[0] for p in CALIBRATION_PHOTOS]))

    failures = []
    for label, entrypoint, builder, kwargs in ARCHITECTURES:
        if only and label.split(" ")[0] not in only:
            continue
        start = time.time()
        diff, detail = check_architecture(out, label, entrypoint, builder, kwargs, inputs, calibration, paths, common)
        took = time.time() - start
        if diff is None:
            print(f"{label:24s} FAILED ({took:.1f} s): {detail}")
            failures.append(f"{label}: {detail}")
            continue
        print(f"{label:24s} .pth and .safetensors: max |logit_zoo - logit_torch| = {diff:.2e}  (logits up to {LOGIT_SCALE}, photos "
              f"differ by up to {detail:.2f}; {took:.1f} s)")
        if diff > TOL:
            failures.append(f"{label}: max logit diff {diff:.2e} > {TOL}")
        if detail < 100 * TOL:  # else a network that ignored its input could pass
            failures.append(f"{label}: the two photos' logits differ by only {detail:.2e}; the test cannot see errors")
        sys.stdout.flush()

    # An unknown entrypoint is a config error that suggests the closest names.
    config = os.path.join(out, "misspelt.yaml")
    with open(config, "w") as f:
        f.write(f"entrypoint: mobilenetv2\n{common}")
    code, _, stderr = run_zoo(["apply", config, paths[0], "-q"])
    if code != 2 or 'did you mean "mobilenet_v2"' not in stderr:
        failures.append(f"entrypoint mobilenetv2: exit {code} (expected 2), stderr without a suggestion of "
                        f"mobilenet_v2:\n{stderr}")
    else:
        print(f"unknown entrypoint mobilenetv2: {stderr.strip().splitlines()[-1][:160]}")

    ref.finish(failures)


if __name__ == "__main__":
    main()
