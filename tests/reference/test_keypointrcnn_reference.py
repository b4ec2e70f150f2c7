"""Reference test: torchvision's keypointrcnn_resnet50_fpn, scripted with
torch.jit.script (random weights, fixed seed, small min_size/max_size to
keep the test short; see detection_reference.py), run by zoo apply as an
`input: list` model with output_processor keypoints, against the same
TorchScript file run by PyTorch on the same photos.

As FiftyOne's KeypointDetectorOutputProcessor and apply_model name a dict
output: predictions_detections (Detections) and predictions_keypoints
(Keypoints: one Keypoint per detection, points relative to the image,
confidence = sigmoid(keypoints_scores)); points less confident than
keypoint_thresh (0.9 here) are NaN, written as null. Checks: boxes and
points within 1e-3, same labels, same missing points. And as --format
coco-results (the truth's category id for person): bbox and keypoints in
pixels, v = 2 for a point and 0, 0, 0 for a missing one, num_keypoints."""

import math
import os
import sys

import numpy as np
import torch
from torchvision.models import detection

import detection_reference as dr
import zoo_reference as ref

PHOTOS = [os.path.join(dr.PHOTOS, name) for name in ("messi5.jpg", "fruits.jpg")]
KEYPOINT_THRESH = 0.9
CLASSES = ["__background__", "person"]


def main():
    out = ref.tmp_dir("keypointrcnn")
    model, scripted = dr.scripted_rcnn(detection.keypointrcnn_resnet50_fpn, os.path.join(out, "keypointrcnn.pt"),
                                       PHOTOS, min_size=256, max_size=416, box_score_thresh=0.02,
                                       box_detections_per_img=10)
    config = dr.write_config(out, "keypointrcnn", f"entrypoint: torchscript\nweights: keypointrcnn.pt\ninput: list\n"
                             f"output_processor: keypoints\nkeypoint_thresh: {KEYPOINT_THRESH}\n"
                             f"classes: [__background__, person]\n")
    records = dr.run_zoo(["apply", config, *PHOTOS, "-q"])
    failures = []
    missing_total = 0
    for path, record in zip(PHOTOS, records):
        name = os.path.basename(path)
        width, height = record["width"], record["height"]
        torch_out = dr.run_list_model(scripted, path)
        expected = dr.expected_detections(torch_out, width, height, CLASSES)
        detections = record["predictions_detections"]["detections"]
        diff = dr.compare_detections(name, detections, expected, failures)
        keypoints = record["predictions_keypoints"]["keypoints"]
        if len(keypoints) != len(expected[0]):
            failures.append(f"{name}: {len(keypoints)} keypoint sets, PyTorch {len(expected[0])}")
            continue
        point_diff = 0.0
        for k, i in enumerate(expected[0]):
            points = torch_out["keypoints"][i].numpy().astype(np.float64)
            conf = torch.sigmoid(torch_out["keypoints_scores"][i]).numpy()
            got = keypoints[k]
            if got["label"] != expected[2][k] or len(got["points"]) != len(points):
                failures.append(f"{name}: keypoint set {k}: label {got['label']}, {len(got['points'])} points")
                continue
            for j, (p, c) in enumerate(zip(points, conf)):
                g = got["points"][j]
                point_diff = max(point_diff, abs(got["confidence"][j] - float(c)))
                if c < KEYPOINT_THRESH:
                    missing_total += 1
                    if g != [None, None]:
                        failures.append(f"{name}: set {k} point {j}: confidence {c:.3f} but not NaN: {g}")
                    continue
                if g[0] is None:
                    failures.append(f"{name}: set {k} point {j}: NaN but confidence {c:.3f}")
                    continue
                point_diff = max(point_diff, abs(g[0] - p[0] / width), abs(g[1] - p[1] / height))
        print(f"{name:12s} {len(detections)} detections with {len(keypoints)} keypoint sets, max box diff "
              f"{diff:.2e}, max point/confidence diff {point_diff:.2e}")
        if point_diff > dr.BOX_TOL:
            failures.append(f"{name}: max point diff {point_diff:.2e} > {dr.BOX_TOL}")
    results, truth, _ = dr.run_coco_results(out, config, PHOTOS, [(5, "person")])
    for k, record in enumerate(records):
        got = [r for r in results if r["image_id"] == truth["images"][k]["id"]]
        want = record["predictions_keypoints"]["keypoints"]
        if len(got) != len(want):
            failures.append(f"coco-results: image {k}: {len(got)} results, {len(want)} keypoint sets")
            continue
        W, H = record["width"], record["height"]
        for r, kp in zip(got, want):
            expected = []
            for x, y in kp["points"]:
                expected += [0, 0, 0] if x is None else [x * W, y * H, 2]
            if r["category_id"] != 5 or len(r["keypoints"]) != len(expected) or \
                    max(abs(a - b) for a, b in zip(r["keypoints"], expected)) > 1e-2 or \
                    r["num_keypoints"] != sum(1 for x, _ in kp["points"] if x is not None):
                failures.append(f"coco-results: image {k}: {r} is not {kp}")
    print(f"coco-results: {len(results)} results with keypoints")
    if missing_total == 0:
        failures.append("no point fell under keypoint_thresh: the NaN case went untested")
    ref.finish(failures)


if __name__ == "__main__":
    main()
