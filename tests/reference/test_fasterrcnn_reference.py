"""Reference test: torchvision's fasterrcnn_mobilenet_v3_large_320_fpn,
scripted with torch.jit.script (random weights, fixed seed; see
detection_reference.py), run by zoo apply as an `input: list` model with
output_processor detector, against the same TorchScript file run by
PyTorch on the same photos.

Checks: boxes within 1e-3 (relative coordinates), same labels (COCO names
through configs/coco-torchvision-labels.txt), same scores within 1e-3;
--format coco-dataset has one annotation per detection, with COCO's category
ids; a missing torchvision
extension is a clear error naming python3-torchvision.
"""

import json
import os
import subprocess
import sys

from torchvision.models import detection

import detection_reference as dr
import zoo_reference as ref

PHOTOS = [os.path.join(dr.PHOTOS, name) for name in ("messi5.jpg", "fruits.jpg", "home.jpg")]


def main():
    out = ref.tmp_dir("fasterrcnn")
    weights = os.path.join(out, "fasterrcnn.pt")
    model, scripted = dr.scripted_rcnn(detection.fasterrcnn_mobilenet_v3_large_320_fpn, weights, PHOTOS,
                                       box_score_thresh=0.02, box_detections_per_img=20)
    classes = [line.rstrip("\n") for line in open(dr.COCO_LABELS)]
    config = dr.write_config(out, "fasterrcnn", f"entrypoint: torchscript\nweights: fasterrcnn.pt\ninput: list\n"
                             f"output_processor: detector\nlabels_path: {dr.COCO_LABELS}\n")

    failures = []
    records = dr.run_zoo(["apply", config, *PHOTOS, "-q", "--batch-size", "2"])
    if len(records) != len(PHOTOS):
        sys.exit(f"zoo wrote {len(records)} records for {len(PHOTOS)} photos")
    total = 0
    for path, record in zip(PHOTOS, records):
        expected_out = dr.run_list_model(scripted, path)
        width, height = record["width"], record["height"]
        expected = dr.expected_detections(expected_out, width, height, classes)
        detections = record["predictions"]["detections"]
        diff = dr.compare_detections(os.path.basename(path), detections, expected, failures)
        total += len(detections)
        print(f"{os.path.basename(path):12s} {width}x{height}: {len(detections)} detections "
              f"({', '.join(sorted(set(d['label'] for d in detections)))}), max box diff {diff:.2e}")

    coco_path = os.path.join(out, "coco.json")
    dr.run_zoo(["apply", config, *PHOTOS, "-q", "--format", "coco-dataset", "-o", coco_path])
    coco = json.load(open(coco_path))
    if len(coco["images"]) != len(PHOTOS) or len(coco["annotations"]) != total:
        failures.append(f"--format coco-dataset: {len(coco['images'])} images, {len(coco['annotations'])} annotations; "
                        f"expected {len(PHOTOS)} and {total}")
    # torchvision's labels are COCO's category ids: 1 = person, no background category.
    names = {c["id"]: c["name"] for c in coco["categories"]}
    if names.get(1) != "person" or 0 in names:
        failures.append(f"--format coco-dataset: categories {coco['categories'][:3]}, expected id 1 = person, no id 0")

    env = dict(os.environ, ZOO_TORCHVISION_OPS="/nonexistent/_C.so")
    proc = subprocess.run([ref.zoo_binary(), "apply", config, PHOTOS[0]], capture_output=True, text=True, env=env)
    if proc.returncode == 0 or "python3-torchvision" not in proc.stderr:
        failures.append(f"without torchvision's operators: exit {proc.returncode}, stderr:\n{proc.stderr}")

    ref.finish(failures)


if __name__ == "__main__":
    main()
