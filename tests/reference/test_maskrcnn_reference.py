"""Reference test: torchvision's maskrcnn_resnet50_fpn, scripted with
torch.jit.script (random weights, fixed seed, small min_size/max_size to
keep the test short; see detection_reference.py), run by zoo apply as an
`input: list` model with output_processor instance_segmenter, against the
same TorchScript file run by PyTorch on the same photos.

As FiftyOne's InstanceSegmenterOutputProcessor: each detection's mask is
the model's mask probabilities cropped to its box (rounded half to even)
and thresholded (> mask_thresh, 0.5 by default; 0.4 here). Checks: boxes
within 1e-3, same labels, every mask >= 99% identical pixels, written as
PNG files under --masks-dir (mask_path) and inline (mask_png)."""

import os
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
    runs = {
        "--masks-dir": dr.run_zoo(["apply", config, *PHOTOS, "-q", "--masks-dir", masks_dir]),
        "inline": dr.run_zoo(["apply", config, *PHOTOS, "-q"]),
    }
    failures = []
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
                key = "mask_path" if how == "--masks-dir" else "mask_png"
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
