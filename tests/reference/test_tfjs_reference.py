"""Reference test: TensorFlow.js graph models (the pretrained models of the
npm package @vladmandic/human 3.3.6, which scripts/setup-tfjs.sh fetches)
run by zoo as entrypoint tfjs, against TensorFlow.js itself (pure-JS
@tensorflow/tfjs, CPU backend, in Node: tfjs_run.js) on the same real
photos, resized here to each model's input size so that both see the same
pixels.

Every output (and faceres's internal node global_pooling/Mean, read with
zoo embed --layer) must be within 1e-4 of tfjs's, relative to the output's
largest magnitude; centernet's detections must have the same classes in
the same order wherever their scores differ by more than the tolerance.

Then configs/centernet.yaml as a user runs it: on messi5.jpg it finds the
player and the ball, zoo eval against the boxes drawn by hand in
examples/messi5-truth.json passes an AP50 gate on person, and batches of 1
and 3 give the same labels, as does the model saved in a store and run
from there."""

import json
import os
import subprocess
import sys

import cv2
import numpy as np

import zoo_reference as ref

TOLERANCE = 1e-4
SOURCE = os.environ.get("ZOO_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
PHOTOS = [os.path.join(ref.PHOTOS, name) for name in ("messi5.jpg", "fruits.jpg", "home.jpg")]

# name: (input size, channels, int input, mean, std, nodes zoo and tfjs compare)
MODELS = {
    "centernet": (512, 3, False, 0.0, 1 / 255, ["tower_0/detections", "tower_0/keypoints"]),
    "movenet-lightning": (192, 3, True, 0.0, 1 / 255, ["Identity:0"]),
    "blazeface": (256, 3, False, 0.5, 0.5, None),
    "faceres": (224, 3, False, 0.0, 1 / 255, ["global_pooling/Mean", "age_pred/Softmax:0", "gender_pred/Sigmoid:0"]),
    "emotion": (64, 1, False, 0.5, 0.5, None),
}


def tfjs_dir():
    return os.path.join(os.path.dirname(ref.zoo_binary()), "tfjs")


def sinks(model_json):
    """The graph's outputs when it has no signature: computed nodes nothing uses."""
    doc = json.load(open(model_json))
    nodes = doc["modelTopology"]["node"]
    used = {i.split(":")[0].lstrip("^") for n in nodes for i in n.get("input", [])}
    return [n["name"] for n in nodes if n["op"] not in ("Const", "Placeholder") and n["name"] not in used]


def run_tfjs(model_json, pixels, nodes, prefix):
    np.save(prefix + ".input.npy", pixels)
    env = dict(os.environ, TFJS_DIR=tfjs_dir())
    proc = subprocess.run(["node", os.path.join(SOURCE, "tests", "reference", "tfjs_run.js"), model_json,
                           prefix + ".input.npy", prefix, *nodes], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"tfjs_run.js {model_json} failed:\n{proc.stderr}")
    return [np.load(json.loads(line)["file"]) for line in proc.stdout.splitlines() if line.strip()]


def main():
    subprocess.run([os.path.join(SOURCE, "scripts", "setup-tfjs.sh"), tfjs_dir()], check=True,
                   stdout=subprocess.DEVNULL)
    models = os.path.join(tfjs_dir(), "human-3.3.6", "models")
    out = ref.tmp_dir("tfjs")
    failures = []
    for name, (size, channels, int_input, mean, std, nodes) in MODELS.items():
        model_json = os.path.join(models, name + ".json")
        nodes = nodes or sinks(model_json)
        config = os.path.join(out, name + ".yaml")
        with open(config, "w") as f:
            f.write(f"entrypoint: tfjs\nweights: {model_json}\nimage_size: [{size}, {size}]\n"
                    f"image_channels: {channels}\nimage_mean: [{mean}]\nimage_std: [{std}]\n")
        worst = 0.0
        for photo in PHOTOS:
            image = cv2.resize(cv2.imread(photo), (size, size), interpolation=cv2.INTER_AREA)
            if channels == 1:
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            stem = os.path.join(out, f"{name}-{os.path.basename(photo)}")
            cv2.imwrite(stem + ".png", image)
            rgb = image[:, :, None] if channels == 1 else image[:, :, ::-1]
            pixels = rgb.astype(np.float32)[None]
            pixels = pixels.astype(np.int32) if int_input else (pixels / 255.0 - mean) / std
            pixels = pixels.astype(np.int32 if int_input else np.float32)
            want = run_tfjs(model_json, pixels, nodes, stem)
            for node, expected in zip(nodes, want):
                ref.run_zoo(["embed", config, stem + ".png", "-q", "--layer", node, "--pool", "flatten",
                             "-o", stem + ".npy", "--threads", "2"])
                got = np.load(stem + ".npy").reshape(-1)
                expected = expected.reshape(-1).astype(np.float64)
                if got.size != expected.size:
                    failures.append(f"{name} {node} on {os.path.basename(photo)}: {got.size} values, tfjs "
                                    f"{expected.size}")
                    continue
                scale = max(float(np.abs(expected).max()), 1e-12)
                diff = float(np.abs(got - expected).max()) / scale
                worst = max(worst, diff)
                if diff > TOLERANCE:
                    failures.append(f"{name} {node} on {os.path.basename(photo)}: max difference {diff:.2e} of "
                                    f"the largest magnitude {scale:.3g} (tolerance {TOLERANCE})")
                if node == "tower_0/detections":
                    g, e = got.reshape(-1, 6), expected.reshape(-1, 6)
                    # Same class, in the same order, where the scores are not tied within the tolerance.
                    for i in range(len(e)):
                        if g[i, 5] != e[i, 5] and abs(e[i, 4] - e[min(i + 1, len(e) - 1), 4]) > TOLERANCE * 10:
                            failures.append(f"centernet on {os.path.basename(photo)}: detection {i} is class "
                                            f"{g[i, 5]:.0f}, tfjs {e[i, 5]:.0f}")
                            break
                    if photo.endswith("messi5.jpg"):
                        print(f"centernet on messi5.jpg, top detections (class, score): "
                              f"{[(int(r[5]), round(float(r[4]), 3)) for r in g[:5]]}")
        print(f"{name:18s} {len(nodes)} outputs on {len(PHOTOS)} photos: worst difference {worst:.2e} of the "
              f"largest magnitude")
    check_centernet_config(models, out, failures)
    check_emotion_config(models, out, failures)
    check_movenet_config(models, out, failures)
    check_upload(models, out, failures)
    ref.finish(failures)


def check_upload(models, out, failures):
    """zoo upload model.json shard.bin, without a config: the signature's
    input size, and a descriptor from the store equal to the file's; a .bin
    the model.json does not name is refused."""
    env = dict(os.environ, ZOO_STORE=os.path.join(out, "upload-store"), ZOO_CACHE_DIR=os.path.join(out, "upload-cache"))
    subprocess.run(["rm", "-rf", env["ZOO_STORE"], env["ZOO_CACHE_DIR"]], check=True)
    model = os.path.join(models, "faceres.json")
    zoo = ref.zoo_binary()
    up = subprocess.run([zoo, "upload", model, os.path.join(models, "faceres.bin"), "--name", "faceres"],
                        capture_output=True, text=True, env=env)
    wrong = subprocess.run([zoo, "upload", model, os.path.join(models, "emotion.bin"), "--name", "x"],
                           capture_output=True, text=True, env=env)
    photo = os.path.join(ref.PHOTOS, "messi5.jpg")
    rows = []
    for source in ("faceres:1", os.path.join(out, "faceres.yaml")):  # faceres alone is also a zoo name
        path = os.path.join(out, f"upload-{len(rows)}.npy")
        subprocess.run([zoo, "embed", source, photo, "--layer", "global_pooling/Mean", "-q", "-o", path], env=env,
                       check=True)
        rows.append(np.load(path))
    if up.returncode != 0 or "224x224 images with values 0-255" not in up.stderr:
        failures.append(f"zoo upload faceres.json faceres.bin: exit {up.returncode}: {up.stderr.strip()}")
    if wrong.returncode != 2 or "is not a weight shard of" not in wrong.stderr:
        failures.append(f"zoo upload with another model's shard: exit {wrong.returncode}: {wrong.stderr.strip()}")
    if not np.array_equal(rows[0], rows[1]):
        failures.append("faceres from the store gives another descriptor than from its files")


def check_movenet_config(models, out, failures):
    """configs/movenet.yaml on messi5.jpg: the nose inside the face box drawn
    by hand (examples/messi5-truth.json), and on each leg the hip above the
knee above the ankle."""
    text = open(os.path.join(SOURCE, "configs", "movenet.yaml")).read()
    config = os.path.join(out, "movenet-config.yaml")
    with open(config, "w") as f:
        # Every point, however unsure: the order of the limbs is checked.
        f.write(text.replace("../build/tfjs/human-3.3.6/models", models).replace("keypoint_thresh: 0.3\n", ""))
    records, _ = ref.run_zoo(["apply", config, os.path.join(ref.PHOTOS, "messi5.jpg"), "-q"])
    r = records[0]
    points = r["predictions_keypoints"]["keypoints"][0]["points"]
    truth = json.load(open(os.path.join(SOURCE, "examples", "messi5-truth.json")))
    face = next(a["bbox"] for a in truth["annotations"] if a["category_id"] == 1)
    nose = (points[0][0] * r["width"], points[0][1] * r["height"])
    ys = lambda *idx: [points[i][1] for i in idx]
    print(f"movenet on messi5.jpg: nose at {nose[0]:.0f}, {nose[1]:.0f} px; face box {face}")
    if not (face[0] <= nose[0] <= face[0] + face[2] and face[1] <= nose[1] <= face[1] + face[3]):
        failures.append(f"movenet on messi5.jpg: the nose {nose} is not in the face box {face}")
    left, right = ys(11, 13, 15), ys(12, 14, 16)  # hip, knee, ankle of each leg
    if len(points) != 17 or left != sorted(left) or right != sorted(right):
        failures.append(f"movenet on messi5.jpg: hips, knees and ankles out of order: {points[11:]}")


def check_emotion_config(models, out, failures):
    """configs/emotion.yaml: its outputs are probabilities, taken as they are."""
    text = open(os.path.join(SOURCE, "configs", "emotion.yaml")).read()
    config = os.path.join(out, "emotion-config.yaml")
    with open(config, "w") as f:
        f.write(text.replace("../build/tfjs/human-3.3.6/models", models))
    stem = os.path.join(out, "emotion-messi5.jpg")
    records, _ = ref.run_zoo(["apply", config, stem + ".png", "-q", "--top-k", "7"])
    got = [c["confidence"] for c in records[0]["predictions"]["classifications"]]
    want = sorted(np.load(stem + ".0.npy").reshape(-1).tolist(), reverse=True)
    if max(abs(a - b) for a, b in zip(got, want)) > TOLERANCE:
        failures.append(f"configs/emotion.yaml: confidences {got}, tfjs's probabilities {want}")


def check_centernet_config(models, out, failures):
    text = open(os.path.join(SOURCE, "configs", "centernet.yaml")).read()
    text = text.replace("../build/tfjs/human-3.3.6/models", models).replace(
        "labels_path: coco-labels.txt", "labels_path: " + os.path.join(SOURCE, "configs", "coco-labels.txt"))
    config = os.path.join(out, "centernet-config.yaml")
    with open(config, "w") as f:
        f.write(text)
    messi = os.path.join(ref.PHOTOS, "messi5.jpg")
    photos = [messi] + [os.path.join(ref.PHOTOS, n) for n in ("fruits.jpg", "home.jpg", "baboon.jpg")]
    one, _ = ref.run_zoo(["apply", config, *photos, "-q", "--batch-size", "1"])
    three, _ = ref.run_zoo(["apply", config, *photos, "-q", "--batch-size", "3"])
    if one != three:
        failures.append("centernet: batches of 1 and 3 gave different labels")
    found = {d["label"]: d for d in reversed(one[0]["predictions"]["detections"])}
    print("centernet on messi5.jpg:", [(d["label"], round(d["confidence"], 3))
                                       for d in one[0]["predictions"]["detections"][:4]])
    if "person" not in found or "sports ball" not in found:
        failures.append(f"centernet on messi5.jpg: no person and sports ball: {sorted(found)}")
    elif not (0.55 < found["sports ball"]["bounding_box"][0] < 0.7 and found["sports ball"]["bounding_box"][1] > 0.75):
        failures.append(f"centernet on messi5.jpg: the ball is not bottom right: {found['sports ball']}")
    # Saved in a store (model.json, its shard, the config, the labels) and
    # run from there: the same labels.
    env = dict(os.environ, ZOO_STORE=os.path.join(out, "store"), ZOO_CACHE_DIR=os.path.join(out, "cache"))
    subprocess.run(["rm", "-rf", env["ZOO_STORE"], env["ZOO_CACHE_DIR"]], check=True)
    saved = subprocess.run([ref.zoo_binary(), "save", config, "--name", "centernet", "-q"], capture_output=True,
                           text=True, env=env)
    stored = subprocess.run([ref.zoo_binary(), "apply", "centernet:1", *photos, "-q"], capture_output=True, text=True,
                            env=env)
    if saved.returncode != 0 or stored.returncode != 0 or \
            [json.loads(line) for line in stored.stdout.splitlines()] != one:
        failures.append(f"centernet saved and run from a store: {saved.stderr.strip()} {stored.stderr.strip()[:300]}")
    truth = os.path.join(SOURCE, "examples", "messi5-truth.json")
    labels = os.path.join(out, "messi5-centernet.jsonl")
    with open(labels, "w") as f:
        f.write(json.dumps(one[0]) + "\n")
    proc = subprocess.run([ref.zoo_binary(), "eval", labels, "--truth", truth, "--min", "ap50:person=0.5", "-q",
                           "-o", os.path.join(out, "messi5-eval.json")], capture_output=True, text=True)
    report = json.load(open(os.path.join(out, "messi5-eval.json")))
    person = next(c for c in report["per_class"] if c["label"] == "person")
    print(f"centernet on messi5.jpg against examples/messi5-truth.json: person AP50 {person['ap50']:.2f}")
    if proc.returncode != 0:
        failures.append(f"zoo eval of centernet on messi5.jpg: exit {proc.returncode}: {proc.stderr.strip()}")


if __name__ == "__main__":
    main()
