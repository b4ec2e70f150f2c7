"""Reference test: zoo apply vs PyTorch for resnet18, on real photos.

torchvision builds resnet18 with a fixed seed (BN statistics randomised so
eval mode is not an identity), exports it as TorchScript and as
dict(state_dict); PyTorch computes the class probabilities for opencv-doc
photos with zoo's preprocessing. zoo apply must give the same top-1 and
every probability within 1e-4, with the TorchScript file (optimised and
not) and with the built-in resnet18 loading the state dict."""

import os
import sys

import numpy as np
import torch
import torchvision

import zoo_reference as ref

TOL = 1e-4
PHOTOS = ["baboon.jpg", "fruits.jpg", "aloeL.jpg", "messi5.jpg", "ellipses.jpg", "HappyFish.jpg",
          "building.jpg", "starry_night.jpg", "chicky_512.png", "pic1.png"]


def main():
    out = ref.tmp_dir("reference_resnet18")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
        model.fc.weight.mul_(20.0)  # spread the probabilities
    model.eval()

    scripted = os.path.join(out, "resnet18.pt")
    torch.jit.script(model).save(scripted)
    state = os.path.join(out, "resnet18_state.pth")
    torch.save(dict(model.state_dict()), state)
    labels = os.path.join(ref.PHOTOS, "dnn", "classification_classes_ILSVRC2012.txt")
    classes = [line.rstrip("\n") for line in open(labels)]

    pre = {"image_dim": 256, "center_crop": [224, 224], "image_mean": ref.IMAGENET_MEAN,
           "image_std": ref.IMAGENET_STD}
    common = f"""image_dim: 256
center_crop: 224
image_mean: {ref.IMAGENET_MEAN}
image_std: {ref.IMAGENET_STD}
labels_path: {labels}
"""
    configs = {
        "torchscript": f"entrypoint: torchscript\nweights: resnet18.pt\n{common}",
        # FiftyOne spellings for the built-in model.
        "builtin": f"entrypoint_fcn: torchvision.models.resnet18\nentrypoint_args: {{num_classes: 1000}}\n"
                   f"weights_path: resnet18_state.pth\n{common}",
    }
    for name, text in configs.items():
        with open(os.path.join(out, f"{name}.yaml"), "w") as f:
            f.write(text)

    paths = [os.path.join(ref.PHOTOS, p) for p in PHOTOS]
    expected = {}
    with torch.no_grad():
        for path in paths:
            x, size = ref.preprocess(path, pre)
            probs = torch.softmax(model(torch.from_numpy(x)[None]), dim=1)[0].numpy()
            expected[path] = (probs, size)

    failures = []
    runs = [("torchscript", []), ("torchscript", ["--no-optimize"]), ("builtin", []), ("builtin", ["--batch-size", "3"])]
    for name, extra in runs:
        records, _ = ref.run_zoo(["apply", os.path.join(out, f"{name}.yaml"), *paths, "--top-k", "1000", "-q"] + extra)
        if [r["filepath"] for r in records] != paths:
            failures.append(f"{name} {extra}: records are not one per input in input order")
            continue
        worst = 0.0
        for record in records:
            probs, size = expected[record["filepath"]]
            got = np.zeros(1000)
            for c in record["predictions"]["classifications"]:
                got[classes.index(c["label"])] = c["confidence"]
            diff = float(np.abs(got - probs).max())
            worst = max(worst, diff)
            top = record["predictions"]["classifications"][0]["label"]
            if top != classes[int(probs.argmax())]:
                failures.append(f"{name} {extra} {record['filepath']}: top-1 {top!r}, PyTorch "
                                f"{classes[int(probs.argmax())]!r}")
            if diff > TOL:
                failures.append(f"{name} {extra} {record['filepath']}: max probability diff {diff:.2e} > {TOL}")
            if (record["width"], record["height"]) != size:
                failures.append(f"{name} {extra} {record['filepath']}: size {record['width']}x{record['height']}, "
                                f"expected {size[0]}x{size[1]}")
        print(f"{name:12s} {' '.join(extra):16s} {len(records)} photos, max |p_zoo - p_torch| = {worst:.2e}")

    # bf16 is an approximation: report how far it is, and hold it to 0.05.
    records, _ = ref.run_zoo(["apply", os.path.join(out, "builtin.yaml"), *paths, "--top-k", "1000", "-q",
                              "--precision", "bf16"])
    worst = 0.0
    same_top1 = 0
    for record in records:
        probs, _ = expected[record["filepath"]]
        got = np.zeros(1000)
        for c in record["predictions"]["classifications"]:
            got[classes.index(c["label"])] = c["confidence"]
        worst = max(worst, float(np.abs(got - probs).max()))
        same_top1 += int(got.argmax() == probs.argmax())
    print(f"bf16         builtin          {len(records)} photos, max |p_zoo - p_torch| = {worst:.2e}, "
          f"same top-1 on {same_top1}")
    if worst > 0.15 or same_top1 < 0.8 * len(records):
        failures.append(f"bf16: max probability diff {worst:.3f} (limit 0.15), same top-1 on {same_top1} of "
                        f"{len(records)} (limit 80%)")

    # Default Classification output: top-1 label and its probability.
    records, _ = ref.run_zoo(["apply", os.path.join(out, "builtin.yaml"), *paths, "-q"])
    for record in records:
        probs, _ = expected[record["filepath"]]
        pred = record["predictions"]
        if pred["_cls"] != "Classification" or pred["label"] != classes[int(probs.argmax())] or \
                abs(pred["confidence"] - float(probs.max())) > TOL:
            failures.append(f"Classification for {record['filepath']}: {pred}")

    ref.finish(failures)


if __name__ == "__main__":
    main()
