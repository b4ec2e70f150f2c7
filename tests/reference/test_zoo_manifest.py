#!/usr/bin/python3
"""Every built-in torchvision entry of the zoo's manifest, checked offline:
- its URL, the sha256 prefix it checks, and its preprocessing (resize, crop,
  interpolation, mean, std) are what torchvision 0.14 publishes for those
  weights;
- its config is valid and its entrypoint exists: a state dict made now with
  torchvision's architecture (random weights) loads under the entry's config,
  strictly (zoo inspect), with 1000 labels for 1000 outputs and the
  embeddings layer found;
- one model per architecture family labels a photo as torchvision's model
  does with the same weights.
The TF.js entries are fetched for real by tests/e2e/test_models.sh.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import torch
import torchvision
from torchvision.models import get_model_weights

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zoo_reference import finish, preprocess, tmp_dir, zoo_binary  # noqa: E402

SOURCE = os.environ.get("ZOO_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
# 548x342: resized by less than 2x, so the bicubic entries resize bicubic.
PHOTO = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg"


def zoo(args, env):
    proc = subprocess.run([zoo_binary(), *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"zoo {' '.join(args)} exited {proc.returncode}\n{proc.stderr}")
    return proc.stdout


def main():
    out = tmp_dir("zoo_manifest")
    shutil.rmtree(out)
    os.makedirs(out)
    env = dict(os.environ, ZOO_CACHE_DIR=os.path.join(out, "cache"), ZOO_OFFLINE="1")
    env.pop("ZOO_MANIFEST", None)
    failures = []

    def check(ok, what):
        if not ok:
            failures.append("FAIL: " + what)

    entries = [e for e in json.loads(zoo(["models", "list", "--json"], env))
               if e["manifest"].startswith("built-in configs/zoo/torchvision.yaml")]
    check(len(entries) == 25, f"25 torchvision entries, got {len(entries)}")
    labels = open(os.path.join(SOURCE, "configs/imagenet-labels.txt")).read().splitlines()
    check(labels == torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta["categories"],
          "configs/imagenet-labels.txt is torchvision's category list")

    state_dicts = {}
    compared = set()
    for entry in entries:
        name = entry["name"]
        card = json.loads(zoo(["models", "info", name, "--json"], env))
        config = card["config"]
        arch = re.search(r"^entrypoint: (\S+)$", config, re.M).group(1)
        weights_name = re.search(r"^weights: (\S+)$", config, re.M).group(1)
        url = card["files"][0]["url"]
        published = [w for w in get_model_weights(arch) if w.url == url]
        check(len(published) == 1, f"{name}: {url} is one of torchvision's {arch} weights")
        if not published:
            continue
        weights = published[0]
        check(card["files"][0]["sha256_prefix"] == re.search(r"-([a-f0-9]+)\.", url).group(1),
              f"{name}: checks the prefix torch.hub checks")
        check(card["parameters"] == weights.meta["num_params"], f"{name}: parameter count")

        # A state dict of torchvision's architecture, random weights, under
        # the entry's config with the weights file swapped for it.
        if arch not in state_dicts:
            # One architecture's file at a time (V1 and V2 entries are
            # neighbours): ViT's alone is 346 MB.
            for done, (path, _) in list(state_dicts.items()):
                if os.path.exists(path):
                    os.remove(path)
                state_dicts[done] = (path, None)
            torch.manual_seed(0)
            model = getattr(torchvision.models, arch)().eval()
            # torchvision starts some heads at zero (ViT) or near it: give
            # the last layer weights that make the logits tell apart.
            head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
            torch.nn.init.normal_(head.weight, std=1.0)
            torch.nn.init.normal_(head.bias, std=1.0)
            path = os.path.join(out, f"{arch}.pth")
            torch.save(model.state_dict(), path)
            state_dicts[arch] = (path, model)
        path, model = state_dicts[arch]
        folder = os.path.join(out, name)
        os.makedirs(folder)
        shutil.copy(os.path.join(SOURCE, "configs/imagenet-labels.txt"), folder)
        with open(os.path.join(folder, "model.yaml"), "w") as f:
            f.write(config.replace(f"weights: {weights_name}", f"weights: {path}"))
        report = json.loads(zoo(["inspect", folder, "--json"], env))
        check(report["weights"]["format"] == "state dict", f"{name}: state dict loaded ({report['weights']['format']})")
        check(report["labels"]["count"] == 1000, f"{name}: 1000 labels")
        check(report["contract"]["outputs"][0]["shape"] == [-1, 1000], f"{name}: 1000 outputs")
        check(report["embeddings_layer"] is not None, f"{name}: embeddings layer found")
        transform = weights.transforms()
        pre = report["preprocessing"]
        check(pre["image_dim"] == transform.resize_size[0] and pre["center_crop"] == [transform.crop_size[0]] * 2,
              f"{name}: resize {pre['image_dim']} crop {pre['center_crop']} as torchvision's "
              f"{transform.resize_size} {transform.crop_size}")
        check(pre.get("interpolation", "bilinear") == transform.interpolation.value,
              f"{name}: interpolation {transform.interpolation.value}")
        check(np.allclose(pre["image_mean"], transform.mean) and np.allclose(pre["image_std"], transform.std),
              f"{name}: mean and std")

        # The labels of torchvision's model with the same weights on the
        # same pixels (zoo's preprocessing), for one entry per family.
        family = re.sub(r"[_\d].*", "", arch)
        if family in compared:
            continue
        compared.add(family)
        labels_out = os.path.join(out, f"{name}.jsonl")
        zoo(["apply", folder, PHOTO, "-o", labels_out, "--store-logits", "-q"], env)
        record = json.loads(open(labels_out).read())
        logits = np.array(record["predictions"]["logits"], dtype=np.float32)
        pixels, _ = preprocess(PHOTO, pre)
        with torch.no_grad():
            expected = model(torch.from_numpy(pixels)[None]).numpy()[0]
        scale = float(np.abs(expected).max())
        diff = float(np.abs(logits - expected).max()) / scale
        check(scale > 0.1 and diff < 1e-4, f"{name}: logits within 1e-4 (relative) of torchvision's: {diff:.2e} "
              f"of {scale:.3g}")
        print(f"{name}: logits up to {scale:.3g}, within {diff:.1e} (relative) of torchvision's; "
              f"label {record['predictions']['label']}")
    print(f"{len(entries)} entries checked; {len(state_dicts)} architectures loaded; families compared: "
          f"{', '.join(sorted(compared))}")
    finish(failures)


if __name__ == "__main__":
    main()
