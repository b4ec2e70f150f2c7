"""Helpers for zoo's reference tests: zoo's preprocessing re-implemented in
Python (OpenCV decode, the same resize/crop rules), so that PyTorch can
compute the outputs zoo must reproduce. Run with /usr/bin/python3 (Debian's
python3-torch, python3-torchvision, python3-opencv)."""

import json
import math
import os
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image

PHOTOS = "/usr/share/doc/opencv-doc/examples/data"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def zoo_binary():
    path = os.environ.get("ZOO")
    if not path:
        sys.exit("ZOO is not set: run through ctest")
    return path


def tmp_dir(name):
    root = os.environ.get("ZOO_TEST_TMP", "/tmp/zoo-test")
    path = os.path.join(root, name)
    os.makedirs(path, exist_ok=True)
    return path


def resized_size(w, h, pre):
    """lib/media/image.cpp resized_size(): FiftyOne's order and rounding.
    Sizes in `pre` are (height, width) as in the YAML."""
    if pre.get("image_size"):
        th, tw = pre["image_size"]
        return tw, th
    if pre.get("image_dim"):
        d = pre["image_dim"]
        if w <= h:
            return d, max(1, int(d * h / w))
        return max(1, int(d * w / h)), d
    if pre.get("image_min_dim") and min(w, h) < pre["image_min_dim"]:
        a = pre["image_min_dim"] / min(w, h)
        w, h = max(1, round(a * w)), max(1, round(a * h))
    if pre.get("image_max_dim") and max(w, h) > pre["image_max_dim"]:
        a = pre["image_max_dim"] / max(w, h)
        w, h = max(1, round(a * w)), max(1, round(a * h))
    return w, h


def reduction_for(w, h, pre):
    tw, th = resized_size(w, h, pre)
    need_short, need_long = min(tw, th), max(tw, th)
    if pre.get("image_size") and pre["image_size"][0] != pre["image_size"][1]:  # (h, w)
        need_short = need_long
    for r in (8, 4, 2):
        if (min(w, h) + r - 1) // r >= need_short and (max(w, h) + r - 1) // r >= need_long:
            return r
    return 1


REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
           8: cv2.IMREAD_REDUCED_COLOR_8}


def preprocess(path, pre):
    """The float CHW tensor zoo feeds the model for `path`, and the
    original (width, height)."""
    data = np.fromfile(path, dtype=np.uint8)
    r = 1
    w0 = h0 = None
    if data[:3].tobytes() == b"\xff\xd8\xff":
        w0, h0 = Image.open(path).size
        r = reduction_for(w0, h0, pre)
    img = cv2.imdecode(data, REDUCED[r])
    width, height = img.shape[1], img.shape[0]
    if r > 1:
        rw, rh = math.ceil(w0 / r), math.ceil(h0 / r)
        rotated = img.shape[1] == rh and img.shape[0] == rw and rw != rh
        width, height = (h0, w0) if rotated else (w0, h0)
    tw, th = resized_size(width, height, pre)
    if (tw, th) != (img.shape[1], img.shape[0]):
        area = tw * 2 <= img.shape[1] or th * 2 <= img.shape[0]
        other = cv2.INTER_CUBIC if pre.get("interpolation") == "bicubic" else cv2.INTER_LINEAR
        img = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA if area else other)
    if pre.get("center_crop"):
        ch, cw = pre["center_crop"]
        top = int(round((img.shape[0] - ch) / 2.0))
        left = int(round((img.shape[1] - cw) / 2.0))
        img = img[top:top + ch, left:left + cw]
    rgb = img[:, :, ::-1].astype(np.float32) / 255.0
    mean = np.array(pre.get("image_mean", [0, 0, 0]), dtype=np.float32)
    std = np.array(pre.get("image_std", [1, 1, 1]), dtype=np.float32)
    rgb = (rgb - mean) / std
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)), (width, height)


def run_zoo(args, expect_exit=0):
    proc = subprocess.run([zoo_binary()] + args, capture_output=True, text=True)
    if proc.returncode != expect_exit:
        sys.exit(f"zoo {' '.join(args)} exited {proc.returncode} (expected {expect_exit})\n"
                 f"stderr:\n{proc.stderr}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()], proc.stderr


def finish(failures):
    """Ends a reference test: prints the failures and exits 1, or prints ok."""
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("ok")
