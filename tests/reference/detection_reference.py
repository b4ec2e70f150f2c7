"""Helpers for the reference tests of torchvision's detection and
segmentation models in zoo (test_*rcnn_reference.py,
test_lraspp_reference.py): make a model with random weights (fixed seed),
script it, run it in PyTorch on real photos, and compare zoo's records with
what FiftyOne's output processors would write from PyTorch's outputs.

No pretrained weights exist on these machines, so the heads are given
random weights large enough to spread the scores: with torchvision's
initialisation every box scores ~1/91 and their order is a coin toss."""

import base64
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import torch

import zoo_reference as ref

PHOTOS = ref.PHOTOS
SOURCE = os.environ.get("ZOO_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
COCO_LABELS = os.path.join(SOURCE, "configs", "coco-torchvision-labels.txt")
sys.path.insert(0, os.path.join(SOURCE, "tests", "e2e"))  # coco_reference: pycocotools' checks, ported
BOX_TOL = 1e-3         # relative coordinates
MASK_AGREEMENT = 0.99  # fraction of identical mask pixels


def seed(n=0):
    torch.manual_seed(n)
    np.random.seed(n)


def spread(linear, scale):
    """Multiplies a Linear or Conv layer's weights by `scale`."""
    with torch.no_grad():
        linear.weight.mul_(scale)


def script_and_save(model, path):
    model.eval()
    torch.jit.script(model).save(path)
    return torch.jit.load(path).eval()


def load_rgb(path):
    """What zoo feeds an input: list model: the decoded image, 0-1 RGB, CHW."""
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    rgb = bgr[:, :, ::-1].astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))


def run_list_model(model, path):
    """The model's outputs for one image (a dict of tensors), as zoo runs it."""
    with torch.no_grad():
        out = model([load_rgb(path)])
    if isinstance(out, tuple):
        out = out[1]
    return out[0]


def write_config(directory, name, text):
    path = os.path.join(directory, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def run_zoo(args):
    proc = subprocess.run([ref.zoo_binary()] + args, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"zoo {' '.join(args)} exited {proc.returncode}\nstderr:\n{proc.stderr}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def run_coco_results(directory, config, photos, categories):
    """zoo apply --format coco-results against a COCO truth of `photos`
    (file_name relative to the truth's folder, no boxes: only its ids
    matter here) and `categories` [(id, name)]. The results pass
    pycocotools' loadRes checks (coco_reference.load_res). Returns (the
    results, the truth, zoo's stderr)."""
    from coco_reference import load_res
    truth = {"images": [], "annotations": [], "categories": [{"id": i, "name": n} for i, n in categories]}
    for k, path in enumerate(photos):
        height, width = cv2.imread(path).shape[:2]
        truth["images"].append({"id": 40 + 7 * k, "file_name": os.path.relpath(path, directory),
                                "width": width, "height": height})
    truth_path = os.path.join(directory, "truth.json")
    with open(truth_path, "w") as f:
        json.dump(truth, f)
    out_path = os.path.join(directory, "results.json")
    args = ["apply", config, *photos, "-q", "--format", "coco-results", "--coco-truth", truth_path, "-o", out_path]
    proc = subprocess.run([ref.zoo_binary()] + args, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"zoo {' '.join(args)} exited {proc.returncode}\nstderr:\n{proc.stderr}")
    with open(out_path) as f:
        results = json.load(f)
    load_res(truth, json.loads(json.dumps(results)))
    return results, truth, proc.stderr


def expected_detections(out, width, height, classes):
    """FiftyOne's DetectorOutputProcessor on a torchvision output, as zoo
    writes it: relative [x, y, w, h] clipped to the image, boxes with no
    area left out. Returns (kept indices, boxes, labels, scores)."""
    kept, boxes, labels, scores = [], [], [], []
    for i, (box, label, score) in enumerate(zip(out["boxes"].numpy().astype(np.float64), out["labels"].numpy(),
                                                 out["scores"].numpy())):
        x1, y1, x2, y2 = (np.clip(box[0] / width, 0, 1), np.clip(box[1] / height, 0, 1),
                          np.clip(box[2] / width, 0, 1), np.clip(box[3] / height, 0, 1))
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            continue
        kept.append(i)
        boxes.append([x1, y1, x2 - x1, y2 - y1])
        labels.append(classes[label] if 0 <= label < len(classes) else str(label))
        scores.append(float(score))
    return kept, np.array(boxes).reshape(-1, 4), labels, np.array(scores)


def compare_detections(name, detections, expected, failures):
    """Compares zoo's Detections list with expected_detections(); returns the
    max box difference."""
    _, boxes, labels, scores = expected
    if len(detections) != len(labels):
        failures.append(f"{name}: {len(detections)} detections, PyTorch {len(labels)}")
        return float("nan")
    if not labels:
        failures.append(f"{name}: no detections at all (the test needs some)")
        return 0.0
    got_boxes = np.array([d["bounding_box"] for d in detections], dtype=np.float64)
    got_labels = [d["label"] for d in detections]
    got_scores = np.array([d["confidence"] for d in detections], dtype=np.float64)
    box_diff = float(np.abs(got_boxes - boxes).max())
    score_diff = float(np.abs(got_scores - scores).max())
    if box_diff > BOX_TOL:
        failures.append(f"{name}: max box diff {box_diff:.2e} > {BOX_TOL}")
    if got_labels != labels:
        bad = [i for i, (a, b) in enumerate(zip(got_labels, labels)) if a != b]
        failures.append(f"{name}: labels differ at {bad[:10]}: zoo {[got_labels[i] for i in bad[:5]]}, "
                        f"PyTorch {[labels[i] for i in bad[:5]]}")
    if score_diff > BOX_TOL:
        failures.append(f"{name}: max score diff {score_diff:.2e} > {BOX_TOL}")
    return box_diff


def read_mask(label):
    """The mask of a zoo label (mask_path or inline mask_png) as an array."""
    if "mask_path" in label:
        data = np.fromfile(label["mask_path"], dtype=np.uint8)
    else:
        data = np.frombuffer(base64.b64decode(label["mask_png"]), dtype=np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)


def calibrate(model, backbone, paths, batch=None):
    """Gives the BatchNorm layers of `backbone` (a submodule of `model`)
    statistics measured on `paths` (in train mode, cumulative average), with
    random affine parameters: with made-up statistics (mean 0, var 1) a
    randomly initialised MobileNet's features shrink to ~1e-8 and every box
    gets the same score."""
    bns = [m for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.1, 0.1)
            m.reset_running_stats()
            m.momentum = None
        model.eval()
        if batch is None:  # a detection model: its own transform makes the batch
            batch = model.transform([load_rgb(p) for p in paths])[0].tensors
        backbone.train()
        backbone(batch)
        model.eval()
        for m in bns:
            m.momentum = 0.1


def scripted_rcnn(builder, path, photos, **kwargs):
    """A torchvision R-CNN from `builder` with random weights (seed 0), its
    BatchNorm statistics measured on `photos` and its class scores spread
    out, scripted and saved to `path`. Returns (model, scripted)."""
    seed(0)
    model = builder(weights=None, weights_backbone=None, **kwargs)
    calibrate(model, model.backbone, photos)
    spread(model.roi_heads.box_predictor.cls_score, 10)
    return model, script_and_save(model, path)


def mask_agreement(got, expected, what, failures):
    """The fraction of pixels where mask `got` equals `expected`, or None
    (and a failure) when their shapes differ."""
    if got.shape != expected.shape:
        failures.append(f"{what}: mask of shape {got.shape}, PyTorch {expected.shape}")
        return None
    return float((got == expected).mean())
