"""Reference test: torchvision's maskrcnn_resnet50_fpn, scripted with
torch.jit.script (random weights, fixed seed, small min_size/max_size to
keep the test short; see detection_reference.py), run by zoo apply as an
`input: list` model with output_processor instance_segmenter, against the
same TorchScript file run by PyTorch on the same photos.

As FiftyOne's InstanceSegmenterOutputProcessor: each detection's mask is
the model's mask probabilities cropped to its box (rounded half to even)
and thresholded (> mask_thresh, 0.5 by default; 0.4 here). Checks: boxes
within 1e-3, same labels, every mask >= 99% identical pixels, written as
PNG files beside -o OUT (OUT.masks/, mask_path: the default), under
--masks-dir (mask_path) and inline (--inline-masks: mask_png); and as
--format coco-results, each mask as compressed RLE over the whole image
(decoded as pycocotools does), with the truth's category ids; a class the
truth lacks is left out, with a warning that counts it."""

import json
import os
import subprocess
import sys

import numpy as np
from torchvision.models import detection

import detection_reference as dr
import zoo_reference as ref

PHOTOS = [os.path.join(dr.PHOTOS, name) for name in ("messi5.jpg", "fruits.jpg")]
MASK_THRESH = 0.4


def expected_masks(out, kept):
    masks = []
    for i in kept:
        x1, y1, x2, y2 = out["boxes"][i].numpy()
        soft = out["masks"][i, 0].numpy()
        masks.append(soft[int(np.round(y1)):int(np.round(y2)), int(np.round(x1)):int(np.round(x2))] > MASK_THRESH)
    return masks


def check_coco_results(out, config, classes, records, failures):
    """--format coco-results: per image, the JSON Lines' detections (less
    those of the class the truth lacks) with their masks as RLE."""
    from coco_reference import rle_decode
    found = [d["label"] for r in records for d in r["predictions"]["detections"]]
    if not found:
        failures.append("coco-results: no detections to check")
        return
    dropped = max(set(found), key=found.count)  # the truth lacks the most frequent class
    categories = [(i, n) for i, n in enumerate(classes) if n not in ("__background__", "N/A", dropped)]
    results, truth, stderr = dr.run_coco_results(out, config, PHOTOS, categories)
    if f"{dropped} ({found.count(dropped)})" not in stderr:
        failures.append(f"coco-results: no warning that {found.count(dropped)} {dropped} detections were left out: {stderr}")
    ids = {n: i for i, n in categories}
    worst = 1.0
    for k, record in enumerate(records):
        image_id = truth["images"][k]["id"]
        want = [d for d in record["predictions"]["detections"] if d["label"] in ids]
        got = [r for r in results if r["image_id"] == image_id]
        if len(got) != len(want):
            failures.append(f"coco-results: image {image_id}: {len(got)} results, {len(want)} detections")
            continue
        W, H = record["width"], record["height"]
        for r, d in zip(got, want):
            x, y, w, h = d["bounding_box"]
            if r["category_id"] != ids[d["label"]] or abs(r["score"] - d["confidence"]) > 1e-6 or \
                    max(abs(a - b) for a, b in zip(r["bbox"], [x * W, y * H, w * W, h * H])) > 1e-2:
                failures.append(f"coco-results: image {image_id}: {r} is not {d}")
                continue
            full = np.zeros((H, W), dtype=bool)
            crop = dr.read_mask(d) > 0
            x0, y0 = int(np.round(x * W)), int(np.round(y * H))
            full[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
            if r["segmentation"]["size"] != [H, W]:
                failures.append(f"coco-results: segmentation size {r['segmentation']['size']}, image {H}x{W}")
                continue
            worst = min(worst, float((rle_decode(r["segmentation"]).astype(bool) == full).mean()))
    print(f"coco-results: {len(results)} results, {found.count(dropped)} {dropped} left out, "
          f"worst RLE mask agreement with the mask files {worst * 100:.3f}%")
    if worst < 0.999:
        failures.append(f"coco-results: an RLE mask differs from its mask file ({worst * 100:.3f}% equal)")


def main():
    out = ref.tmp_dir("maskrcnn")
    model, scripted = dr.scripted_rcnn(detection.maskrcnn_resnet50_fpn, os.path.join(out, "maskrcnn.pt"),
                                       PHOTOS, min_size=256, max_size=416, box_score_thresh=0.02,
                                       box_detections_per_img=10)
    classes = [line.rstrip("\n") for line in open(dr.COCO_LABELS)]
    config = dr.write_config(out, "maskrcnn", f"entrypoint: torchscript\nweights: maskrcnn.pt\ninput: list\n"
                             f"output_processor: instance_segmenter\noutput_processor_args: {{mask_thresh: {MASK_THRESH}}}\n"
                             f"labels_path: {dr.COCO_LABELS}\n")
    masks_dir = os.path.join(out, "masks")
    labels_path = os.path.join(out, "labels.jsonl")
    dr.run_zoo(["apply", config, *PHOTOS, "-q", "-o", labels_path])
    with open(labels_path) as f:
        default = [json.loads(line) for line in f]
    runs = {
        "--masks-dir": dr.run_zoo(["apply", config, *PHOTOS, "-q", "--masks-dir", masks_dir]),
        "inline": dr.run_zoo(["apply", config, *PHOTOS, "-q", "--inline-masks"]),
        "default": default,
    }
    failures = []
    for record in default:
        for d in record["predictions"]["detections"]:
            if "mask_path" in d and not d["mask_path"].startswith(os.path.join(out, "labels.masks") + "/"):
                failures.append(f"default run: mask_path {d['mask_path']} is not in {out}/labels.masks/")
    check_coco_results(out, config, classes, default, failures)
    # Masks with the labels on stdout: a folder or --inline-masks must be named.
    proc = subprocess.run([ref.zoo_binary(), "apply", config, PHOTOS[0], "-q"], capture_output=True, text=True)
    if proc.returncode != 2 or "--inline-masks" not in proc.stderr:
        failures.append(f"masks to stdout: exit {proc.returncode}, {proc.stderr.strip()}")
    for path in PHOTOS:
        name = os.path.basename(path)
        torch_out = dr.run_list_model(scripted, path)
        for how, records in runs.items():
            record = next(r for r in records if r["filepath"] == path)
            expected = dr.expected_detections(torch_out, record["width"], record["height"], classes)
            detections = record["predictions"]["detections"]
            diff = dr.compare_detections(f"{name} ({how})", detections, expected, failures)
            if len(detections) != len(expected[0]):
                continue
            worst = 1.0
            for k, (detection_label, mask) in enumerate(zip(detections, expected_masks(torch_out, expected[0]))):
                key = "mask_png" if how == "inline" else "mask_path"
                if mask.size == 0:
                    continue
                if key not in detection_label:
                    failures.append(f"{name} ({how}): detection {k} has no {key}")
                    continue
                agreement = dr.mask_agreement(dr.read_mask(detection_label) > 0, mask, f"{name} ({how}): detection {k}",
                                              failures)
                if agreement is not None:
                    worst = min(worst, agreement)
            print(f"{name:12s} {how:11s} {len(detections)} detections, max box diff {diff:.2e}, "
                  f"worst mask agreement {worst * 100:.3f}%")
            if worst < dr.MASK_AGREEMENT:
                failures.append(f"{name} ({how}): a mask has {worst * 100:.2f}% equal pixels")
    ref.finish(failures)


if __name__ == "__main__":
    main()
