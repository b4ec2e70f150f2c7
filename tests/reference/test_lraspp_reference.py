"""Reference test: torchvision's lraspp_mobilenet_v3_large (a batch model
whose forward() returns {"out": [N, 21, H, W]}), scripted with
torch.jit.script (random weights, fixed seed; see detection_reference.py),
run by zoo apply with output_processor segmenter, against the same
TorchScript file run by PyTorch on zoo's preprocessing of the same photos.

zoo writes a FiftyOne Segmentation per image: the per-pixel argmax,
resized back to the original image size (nearest: each original pixel
takes the class of the model-input pixel under its centre). Checks: the
mask has the original size and >= 99% of its pixels equal PyTorch's, as a
PNG under --masks-dir (mask_path) and inline (--inline-masks: mask_png)."""

import os
import sys

import numpy as np
import torch
from torchvision.models import segmentation

import detection_reference as dr
import zoo_reference as ref

PHOTOS = [os.path.join(dr.PHOTOS, name) for name in ("messi5.jpg", "fruits.jpg", "home.jpg")]
PRE = {"image_size": [224, 288], "image_mean": ref.IMAGENET_MEAN, "image_std": ref.IMAGENET_STD}


def expected_mask(scripted, path):
    x, (width, height) = ref.preprocess(path, PRE)
    with torch.no_grad():
        classes = scripted(torch.from_numpy(x)[None])["out"][0].argmax(0).numpy()
    rh, rw = PRE["image_size"]
    xs = np.floor((np.arange(width) + 0.5) * rw / width).astype(int)
    ys = np.floor((np.arange(height) + 0.5) * rh / height).astype(int)
    return classes[ys[:, None], xs[None, :]]


def main():
    out = ref.tmp_dir("lraspp")
    dr.seed(0)
    model = segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None)
    batch = torch.stack([torch.from_numpy(ref.preprocess(p, PRE)[0]) for p in PHOTOS])
    dr.calibrate(model, model.backbone, PHOTOS, batch)
    dr.spread(model.classifier.low_classifier, 10)
    dr.spread(model.classifier.high_classifier, 10)
    scripted = dr.script_and_save(model, os.path.join(out, "lraspp.pt"))
    config = dr.write_config(out, "lraspp", "entrypoint: torchscript\nweights: lraspp.pt\noutput_processor: segmenter\n"
                             "image_size: [224, 288]\nimage_mean: [0.485, 0.456, 0.406]\n"
                             "image_std: [0.229, 0.224, 0.225]\n")
    masks_dir = os.path.join(out, "masks")
    failures = []
    runs = {
        "--masks-dir": dr.run_zoo(["apply", config, *PHOTOS, "-q", "--batch-size", "2", "--masks-dir", masks_dir]),
        "inline": dr.run_zoo(["apply", config, *PHOTOS, "-q", "--batch-size", "3", "--inline-masks"]),
    }
    for path in PHOTOS:
        name = os.path.basename(path)
        expected = expected_mask(scripted, path)
        for how, records in runs.items():
            record = next(r for r in records if r["filepath"] == path)
            label = record["predictions"]
            if label.get("_cls") != "Segmentation":
                failures.append(f"{name} ({how}): not a Segmentation: {str(label)[:200]}")
                continue
            if how == "--masks-dir" and not label.get("mask_path", "").startswith(masks_dir):
                failures.append(f"{name} ({how}): mask_path {label.get('mask_path')} is not under {masks_dir}")
            mask = dr.read_mask(label)
            agreement = dr.mask_agreement(mask, expected, f"{name} ({how})", failures)
            if agreement is None:
                continue
            print(f"{name:12s} {how:11s} mask {mask.shape[1]}x{mask.shape[0]}, {len(np.unique(expected))} classes, "
                  f"{agreement * 100:.3f}% pixels equal to PyTorch's")
            if agreement < dr.MASK_AGREEMENT:
                failures.append(f"{name} ({how}): {agreement * 100:.2f}% equal pixels < {dr.MASK_AGREEMENT * 100}%")
    ref.finish(failures)


if __name__ == "__main__":
    main()
