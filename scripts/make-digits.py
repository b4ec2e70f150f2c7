"""Cuts OpenCV's digits.png (opencv-doc: 5000 handwritten digits, 20x20,
50 rows x 100 columns, 5 rows per digit 0-9) into a class-per-folder tree
with the split OpenCV's own tutorials use: the left 50 columns train
(2500 images), the right 50 test (2500).
Usage: make-digits.py OUTDIR"""

import os
import sys

import cv2

SOURCE = "/usr/share/doc/opencv-doc/examples/data/digits.png"
out = sys.argv[1] if len(sys.argv) > 1 else "build/digits"
img = cv2.imread(SOURCE, cv2.IMREAD_GRAYSCALE)
if img is None or img.shape != (1000, 2000):
    sys.exit(f"{SOURCE}: expected a 2000x1000 grayscale image (install opencv-doc)")
tmp = out + ".tmp"
for split in ("train", "test"):
    for digit in range(10):
        os.makedirs(os.path.join(tmp, split, str(digit)), exist_ok=True)
for row in range(50):
    digit = row // 5
    for col in range(100):
        cell = img[row * 20:(row + 1) * 20, col * 20:(col + 1) * 20]
        split = "train" if col < 50 else "test"
        cv2.imwrite(os.path.join(tmp, split, str(digit), f"r{row:02d}c{col:03d}.png"), cell)
if os.path.exists(out):
    import shutil
    shutil.rmtree(out)
os.rename(tmp, out)
print(f"wrote {out}/train (2500) and {out}/test (2500)", file=sys.stderr)
