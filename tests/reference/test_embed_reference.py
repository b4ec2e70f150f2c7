"""Reference test: zoo embed vs PyTorch forward hooks, on real photos.

torchvision builds resnet18 and mobilenet_v2 with a fixed seed (BN
statistics and affine parameters randomised so eval mode is not an
identity). PyTorch computes a layer's input or output the way FiftyOne's
embeddings_layer does, with a forward hook on the named module
("<fc" = inputs[0] of fc, "layer4" = the output of layer4), pooled like
zoo's default --pool avg (mean over the dimensions after the second), on
opencv-doc photos with zoo's preprocessing (zoo_reference.preprocess).
The .npy zoo embed writes, read with numpy, must match within 1e-4 (max
abs diff), row i being the photo on line i of the index file, for:

- the built-in resnet18 loading the state dict: "<fc", "layer4" (avg and
  max pooled), "layer2.0.downsample" and the config's embeddings_layer;
- the built-in mobilenet_v2: "<classifier.1" and "features.18";
- the same resnet18 as scripted and as traced TorchScript files: "<fc";
- with and without --no-optimize, and in several batch sizes;
- --normalize (unit rows) and --dtype float16 (within float16 rounding).
"""

import os
import sys

import numpy as np
import torch
import torchvision

import zoo_reference as ref

TOL = 1e-4
PHOTOS = ["baboon.jpg", "fruits.jpg", "aloeL.jpg", "messi5.jpg", "HappyFish.jpg", "building.jpg",
          "starry_night.jpg", "chicky_512.png", "pic1.png"]
PRE = {"image_dim": 256, "center_crop": [224, 224], "image_mean": ref.IMAGENET_MEAN, "image_std": ref.IMAGENET_STD}
COMMON = f"""image_dim: 256
center_crop: 224
image_mean: {ref.IMAGENET_MEAN}
image_std: {ref.IMAGENET_STD}
"""


def randomise_batch_norm(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return model.eval()


def hooked(model, layer, inputs):
    """What FiftyOne's embeddings hook sees for `layer` over `inputs`
    (a [N, C, H, W] tensor), pooled as zoo's --pool avg/max."""
    use_input = layer.startswith("<")
    name = layer[1:] if use_input else layer
    module = dict(model.named_modules())[name]
    seen = {}

    def hook(_module, args, output):
        seen["value"] = args[0] if use_input else output

    handle = module.register_forward_hook(hook)
    with torch.no_grad():
        model(inputs)
    handle.remove()
    return seen["value"]


def pooled(value, pool):
    value = value.detach().numpy().astype(np.float64)
    if value.ndim <= 2 or pool == "flatten":
        return value.reshape(value.shape[0], -1)
    axes = tuple(range(2, value.ndim))
    return value.mean(axis=axes) if pool == "avg" else value.max(axis=axes)


def main():
    out = ref.tmp_dir("reference_embed")
    torch.manual_seed(0)
    resnet = randomise_batch_norm(torchvision.models.resnet18(num_classes=1000))
    mobilenet = randomise_batch_norm(torchvision.models.mobilenet_v2(num_classes=1000))

    torch.save(dict(resnet.state_dict()), os.path.join(out, "resnet18_state.pth"))
    torch.save(dict(mobilenet.state_dict()), os.path.join(out, "mobilenet_v2_state.pth"))
    torch.jit.script(resnet).save(os.path.join(out, "resnet18_scripted.pt"))
    torch.jit.trace(resnet, torch.zeros(1, 3, 224, 224)).save(os.path.join(out, "resnet18_traced.pt"))

    configs = {
        "resnet18": f"entrypoint: resnet18\nweights: resnet18_state.pth\nembeddings_layer: layer3\n{COMMON}",
        "mobilenet_v2": f"entrypoint_fcn: torchvision.models.mobilenet_v2\nweights_path: mobilenet_v2_state.pth\n{COMMON}",
        "scripted": f"entrypoint: torchscript\nweights: resnet18_scripted.pt\n{COMMON}",
        "traced": f"entrypoint: torchscript\nweights: resnet18_traced.pt\n{COMMON}",
    }
    for name, text in configs.items():
        with open(os.path.join(out, f"{name}.yaml"), "w") as f:
            f.write(text)

    paths = [os.path.join(ref.PHOTOS, p) for p in PHOTOS]
    batch = torch.from_numpy(np.stack([ref.preprocess(p, PRE)[0] for p in paths]))
    models = {"resnet18": resnet, "mobilenet_v2": mobilenet, "scripted": resnet, "traced": resnet}

    # (config, layer or None for the config's, pool, extra zoo options)
    runs = [
        ("resnet18", "<fc", "avg", []),
        ("resnet18", "<fc", "avg", ["--no-optimize", "--batch-size", "4"]),
        ("resnet18", "layer4", "avg", []),
        ("resnet18", "layer4", "max", ["--batch-size", "5"]),
        ("resnet18", "layer2.0.downsample", "avg", []),
        ("resnet18", None, "avg", []),  # the config's embeddings_layer: layer3
        ("mobilenet_v2", "<classifier.1", "avg", []),
        ("mobilenet_v2", "<classifier.1", "avg", ["--no-optimize"]),
        ("mobilenet_v2", "features.18", "avg", ["--batch-size", "2"]),
        ("scripted", "<fc", "avg", []),
        ("scripted", "<fc", "avg", ["--no-optimize"]),
        ("traced", "<fc", "avg", []),
        ("traced", "layer4", "avg", []),
    ]
    failures = []
    for i, (config, layer, pool, extra) in enumerate(runs):
        npy = os.path.join(out, f"run{i}.npy")
        args = ["embed", os.path.join(out, f"{config}.yaml"), *paths, "-o", npy, "--pool", pool, "-q"] + extra
        if layer is not None:
            args += ["--layer", layer]
        ref.run_zoo(args)
        got = np.load(npy)
        index = [line.rstrip("\n") for line in open(os.path.join(out, f"run{i}.paths.txt"))]
        used = layer if layer is not None else "layer3"
        expected = pooled(hooked(models[config], used, batch), pool)
        label = f"{config:12s} {used:20s} {pool:4s} {' '.join(extra):28s}"
        if index != paths:
            failures.append(f"{label}: the index lists {index}, expected the photos in input order")
            continue
        if got.dtype != np.float32 or got.shape != expected.shape:
            failures.append(f"{label}: npy is {got.dtype} {got.shape}, expected float32 {expected.shape}")
            continue
        diff = float(np.abs(got - expected).max())
        print(f"{label} {got.shape}, max |zoo - torch| = {diff:.2e} (max |torch| {np.abs(expected).max():.2f})")
        if diff > TOL:
            failures.append(f"{label}: max diff {diff:.2e} > {TOL}")

    # --normalize and --dtype float16 on the TorchScript file.
    npy = os.path.join(out, "normalized.npy")
    ref.run_zoo(["embed", os.path.join(out, "traced.yaml"), *paths, "-o", npy, "--layer", "<fc", "--normalize",
                 "--dtype", "float16", "-q"])
    got = np.load(npy)
    expected = pooled(hooked(resnet, "<fc", batch), "avg")
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    diff = float(np.abs(got.astype(np.float64) - expected).max())
    norms = np.linalg.norm(got.astype(np.float64), axis=1)
    print(f"{'traced':12s} {'<fc':20s} --normalize --dtype float16: {got.dtype} {got.shape}, "
          f"max |zoo - torch| = {diff:.2e}, row norms {norms.min():.4f}..{norms.max():.4f}")
    # float16 keeps 11 significant bits: values below 1 are within 2^-12.
    if got.dtype != np.float16 or got.shape != expected.shape or diff > 2.0 ** -12 + TOL:
        failures.append(f"--normalize --dtype float16: {got.dtype} {got.shape}, max diff {diff:.2e}")
    if np.abs(norms - 1).max() > 1e-3:
        failures.append(f"--normalize: row norms {norms}")

    ref.finish(failures)


if __name__ == "__main__":
    main()
