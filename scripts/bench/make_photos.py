"""Writes N JPEGs of 1-2 megapixels (quality 90) made from opencv-doc's real
colour photos: each photo scaled to a width between 1200 and 1632 pixels.
Deterministic. Usage: make_photos.py OUTDIR [N]"""

import glob
import os
import sys

import cv2

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
os.makedirs(out, exist_ok=True)
sources = []
for path in sorted(glob.glob("/usr/share/doc/opencv-doc/examples/data/*.jpg")):
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is not None and img.ndim == 3 and min(img.shape[:2]) >= 300:
        sources.append(img)
for i in range(n):
    img = sources[i % len(sources)]
    width = 1200 + (i * 37) % 433
    height = int(round(img.shape[0] * width / img.shape[1]))
    while width * height > 2_000_000:
        width -= 16
        height = int(round(img.shape[0] * width / img.shape[1]))
    big = cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(os.path.join(out, f"photo_{i:04d}.jpg"), big, [cv2.IMWRITE_JPEG_QUALITY, 90])
print(f"wrote {n} photos to {out}", file=sys.stderr)
