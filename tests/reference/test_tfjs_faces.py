"""Reference test: faces and objects on real photos with the pretrained
TensorFlow.js models of @vladmandic/human 3.3.6 (scripts/setup-tfjs.sh
fetches them), as a user runs them from configs/.

- BlazeFace: zoo's decoding of the raw outputs against its anchors equals
  human's own (a port of its blazeface.ts getBoxes, run on TensorFlow.js's
  outputs for the same pixels): boxes, scores and the 6 landmarks.
- BlazeFace finds the faces drawn by hand on 8 frames of Megamind.avi
  (examples/megamind-faces.json; zoo eval, AP50 gate).
- FaceRes on the patches of those faces (zoo embed --patches): each face's
  nearest descriptor is a face of the same person.
- Emotion on the patches (zoo apply --patches): one label per face, equal
  to the label of the same pixels cut out here and run as an image.
- FaceRes's gender and age heads on the patches: Roxanne female, the diner
  male, Messi male and an adult.
- Patches resume, shard and merge to byte-identical outputs.
- CenterNet against boxes drawn by hand on five of Debian's darknet photos
  (examples/darknet-truth.json: people, animals, vehicles; AP50 gate)."""

import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np

import zoo_reference as ref

SOURCE = os.environ.get("ZOO_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DARKNET = "/usr/share/darknet/data"
FRAMES = (31, 61, 91, 121, 151, 181, 211, 241)


def tfjs_dir():
    return os.path.join(os.path.dirname(ref.zoo_binary()), "tfjs")


def models_dir():
    return os.path.join(tfjs_dir(), "human-3.3.6", "models")


def user_config(name, out):
    """configs/NAME.yaml with its paths made absolute, as run from the source tree."""
    text = open(os.path.join(SOURCE, "configs", name + ".yaml")).read()
    text = text.replace("../build/tfjs/human-3.3.6/models", models_dir()).replace(
        "labels_path: coco-labels.txt", "labels_path: " + os.path.join(SOURCE, "configs", "coco-labels.txt"))
    path = os.path.join(out, name + ".yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def zoo(*args, expect=0):
    proc = subprocess.run([ref.zoo_binary(), *args], capture_output=True, text=True)
    if proc.returncode != expect:
        sys.exit(f"zoo {' '.join(args)} exited {proc.returncode} (expected {expect})\nstderr:\n{proc.stderr}")
    return proc


def jsonl(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def iou(a, b):
    """[x, y, w, h] boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


def human_blazeface(outputs, min_score, iou_thresh, size=256):
    """human 3.3.6's src/face/blazeface.ts getBoxes on the graph's outputs:
    sorted by size, [logits 384, logits 512, boxes 384, boxes 512] joined
    into [896, 17]; anchors of facemeshutil.ts generateAnchors; boxes
    centre +- size / 2; scores sigmoid; tf.image.nonMaxSuppression
    (greedy by score, IoU above the threshold suppressed); landmarks raw +
    anchor."""
    s = sorted(outputs, key=lambda a: a.size)
    batch = np.concatenate([np.concatenate([s[1], s[3]], 2), np.concatenate([s[0], s[2]], 2)], 1)[0].astype(np.float64)
    anchors = []
    for stride, count in ((size // 16, 2), (size // 8, 6)):
        cells = (size + stride - 1) // stride
        for gy in range(cells):
            for gx in range(cells):
                anchors += [(stride * (gx + 0.5), stride * (gy + 0.5))] * count
    anchors = np.array(anchors)
    centres = batch[:, 1:3] + anchors
    boxes = np.concatenate([centres - batch[:, 3:5] / 2, centres + batch[:, 3:5] / 2], 1)
    scores = 1 / (1 + np.exp(-batch[:, 0]))
    kept = []
    for i in np.argsort(-scores, kind="stable"):
        if scores[i] < min_score:
            break
        b = boxes[i]
        if all(iou([b[0], b[1], b[2] - b[0], b[3] - b[1]],
                   [boxes[k][0], boxes[k][1], boxes[k][2] - boxes[k][0], boxes[k][3] - boxes[k][1]]) <= iou_thresh
               for k in kept):
            kept.append(i)
    return [(boxes[i], scores[i], batch[i, 5:17].reshape(6, 2) + anchors[i]) for i in kept]


def check_blazeface_decode(config, out, failures):
    model_json = os.path.join(models_dir(), "blazeface.json")
    frame = os.path.join(out, "megamind-091.png")
    for photo in (os.path.join(ref.PHOTOS, "messi5.jpg"), frame):
        image = cv2.resize(cv2.imread(photo), (256, 256), interpolation=cv2.INTER_AREA)
        stem = os.path.join(out, "blazeface-" + os.path.basename(photo))
        cv2.imwrite(stem + ".png", image)
        np.save(stem + ".input.npy", ((image[:, :, ::-1].astype(np.float32) / 255.0 - 0.5) / 0.5)[None])
        env = dict(os.environ, TFJS_DIR=tfjs_dir())
        proc = subprocess.run(["node", os.path.join(SOURCE, "tests", "reference", "tfjs_run.js"), model_json,
                               stem + ".input.npy", stem, "Identity", "Identity_1", "Identity_2", "Identity_3"],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            sys.exit(f"tfjs_run.js blazeface failed:\n{proc.stderr}")
        outputs = [np.load(json.loads(line)["file"]) for line in proc.stdout.splitlines() if line.strip()]
        want = human_blazeface(outputs, 0.5, 0.3)
        record = zoo("apply", config, stem + ".png", "-q").stdout
        r = json.loads(record)
        got = r["predictions_detections"]["detections"]
        points = r["predictions_keypoints"]["keypoints"]
        name = os.path.basename(photo)
        print(f"blazeface on {name}: {len(got)} faces, human's decoding of tfjs's outputs {len(want)}")
        if len(got) != len(want) or not want:
            failures.append(f"blazeface on {name}: {len(got)} faces, human's decoding {len(want)}")
            continue
        worst = 0.0
        for d, p, (box, score, landmarks) in zip(got, points, want):
            x, y, w, h = (v * 256 for v in d["bounding_box"])
            mine = np.array([x, y, x + w, y + h])
            clipped = np.clip(box, 0, 256)
            worst = max(worst, float(np.abs(mine - clipped).max()) / 256,
                        abs(d["confidence"] - score),
                        float(np.abs(np.array(p["points"]) * 256 - landmarks).max()) / 256)
        print(f"  worst difference (boxes and landmarks relative to the input, scores): {worst:.2e}")
        if worst > 1e-4:
            failures.append(f"blazeface on {name}: zoo's faces differ from human's decoding by {worst:.2e}")


def extract_frames(out):
    video = cv2.VideoCapture(os.path.join(ref.PHOTOS, "Megamind.avi"))
    number = 0
    paths = []
    while True:
        ok, image = video.read()
        if not ok:
            break
        number += 1
        if number in FRAMES:
            paths.append(os.path.join(out, f"megamind-{number:03d}.png"))
            cv2.imwrite(paths[-1], image)
    shutil.copy(os.path.join(SOURCE, "examples", "megamind-faces.json"), out)
    return paths


def check_face_detection(config, out, failures):
    """BlazeFace against the faces drawn by hand: AP50 gate."""
    proc = subprocess.run([ref.zoo_binary(), "eval", config, "--truth", os.path.join(out, "megamind-faces.json"),
                           "--min", "ap50=0.8", "-q", "-o", os.path.join(out, "faces-eval.json")],
                          capture_output=True, text=True)
    report = json.load(open(os.path.join(out, "faces-eval.json")))
    print(f"blazeface on 8 Megamind frames against examples/megamind-faces.json: AP50 {report['ap50']:.3f}")
    if proc.returncode != 0:
        failures.append(f"zoo eval blazeface --min ap50=0.8: exit {proc.returncode}: {proc.stderr.strip()}")


def identities(faces_jsonl, truth):
    """(path@detection) -> the person of the hand-drawn face it overlaps most (IoU >= 0.3)."""
    by_file = {}
    for image in truth["images"]:
        by_file[image["file_name"]] = [a for a in truth["annotations"] if a["image_id"] == image["id"]]
    who = {}
    for r in jsonl(faces_jsonl):
        truth_faces = by_file[os.path.basename(r["filepath"])]
        for i, d in enumerate(r["predictions_detections"]["detections"]):
            b = d["bounding_box"]
            box = [b[0] * r["width"], b[1] * r["height"], b[2] * r["width"], b[3] * r["height"]]
            best = max(truth_faces, key=lambda a: iou(box, a["bbox"]))
            if iou(box, best["bbox"]) >= 0.3:
                who[f"{r['filepath']}@{i}"] = best["identity"]
    return who


def check_face_patches(blazeface, out, frames, failures):
    faceres = user_config("faceres", out)
    emotion = user_config("emotion", out)
    faces = os.path.join(out, "faces.jsonl")
    zoo("apply", blazeface, *frames, "-q", "-o", faces)
    truth = json.load(open(os.path.join(out, "megamind-faces.json")))
    who = identities(faces, truth)

    # FaceRes descriptors, one per face: the nearest is the same person.
    npy = os.path.join(out, "faces.npy")
    zoo("embed", faceres, *frames, "--patches", faces, "--patches-square", "--patches-alpha", "0.4", "--normalize",
        "-q", "-o", npy)
    rows = np.load(npy)
    keys = [line.rstrip("\n") for line in open(os.path.join(out, "faces.paths.txt"))]
    detections = sum(len(r["predictions_detections"]["detections"]) for r in jsonl(faces))
    if len(keys) != detections or rows.shape != (detections, 1024):
        failures.append(f"faceres on patches: {rows.shape} rows and {len(keys)} index lines for {detections} faces")
        return
    known = [i for i, k in enumerate(keys) if k in who]
    similarity = rows @ rows.T
    same, other, wrong = [], [], []
    for i in known:
        for j in known:
            if i != j:
                (same if who[keys[i]] == who[keys[j]] else other).append(similarity[i, j])
        nearest = max((j for j in known if j != i), key=lambda j: similarity[i, j])
        if who[keys[nearest]] != who[keys[i]]:
            wrong.append(f"{os.path.basename(keys[i])} ({who[keys[i]]}) is nearest to {os.path.basename(keys[nearest])} "
                         f"({who[keys[nearest]]})")
    print(f"faceres on {len(known)} faces of {len(set(who.values()))} people: mean cosine similarity "
          f"{np.mean(same):.3f} between faces of one person, {np.mean(other):.3f} between different people; "
          f"nearest face of the same person for {len(known) - len(wrong)} of {len(known)}")
    if len(known) < 9 or wrong or np.mean(same) < np.mean(other) + 0.2:
        failures.append(f"faceres on patches: {len(known)} faces matched; {'; '.join(wrong)}")

    # Emotion on the patches: one record per face, the label of the same
    # pixels cut out here.
    labels = os.path.join(out, "emotions.jsonl")
    zoo("apply", emotion, *frames, "--patches", faces, "-q", "-o", labels)
    records = jsonl(labels)
    by_image = {r["filepath"]: r for r in jsonl(faces)}
    if len(records) != detections:
        failures.append(f"emotion on patches: {len(records)} records for {detections} faces")
    for r in records[:4]:
        source = by_image[r["filepath"]]
        detection = source["predictions_detections"]["detections"][r["detection"]]
        if r["patch"] != detection:
            failures.append(f"emotion on patches: record {r['filepath']}@{r['detection']} carries {r['patch']}, "
                            f"the detection is {detection}")
        x, y, w, h = detection["bounding_box"]
        W, H = source["width"], source["height"]
        x1, y1 = round(x * W), round(y * H)
        x2, y2 = round((x + w) * W), round((y + h) * H)
        crop = os.path.join(out, f"crop-{r['detection']}-{os.path.basename(r['filepath'])}")
        cv2.imwrite(crop, cv2.imread(r["filepath"])[max(0, y1):min(H, y2), max(0, x1):min(W, x2)])
        alone = json.loads(zoo("apply", emotion, crop, "-q").stdout)
        if alone["predictions"]["label"] != r["predictions"]["label"] or \
                abs(alone["predictions"]["confidence"] - r["predictions"]["confidence"]) > 1e-5:
            failures.append(f"emotion on {r['filepath']}@{r['detection']}: {r['predictions']}, on the same pixels "
                            f"cut out: {alone['predictions']}")
    print("emotion on the faces:", [(os.path.basename(r["filepath"]) + "@" + str(r["detection"]),
                                     r["predictions"]["label"]) for r in records])
    check_gender_age(faces, frames, who, out, failures)
    check_patch_runs(faceres, emotion, faces, frames, npy, labels, out, failures)


def check_gender_age(faces, frames, who, out, failures):
    """FaceRes's gender head (configs/faceres-gender.yaml: one sigmoid, two
    classes) and age head (configs/faceres-age.yaml: a Regression): Roxanne's
    faces female, the diner's male, Messi (messi5.jpg) male and an adult."""
    patches = ["--patches-square", "--patches-alpha", "0.4", "-q"]
    gender = user_config("faceres-gender", out)
    records = jsonl_of(zoo("apply", gender, *frames, "--patches", faces, *patches).stdout)
    said = {f"{r['filepath']}@{r['detection']}": r["predictions"]["label"] for r in records}
    by_person = {}
    for key, person in who.items():
        by_person.setdefault(person, []).append(said[key])
    print("faceres gender by person:", {p: sorted(g) for p, g in sorted(by_person.items())})
    if set(by_person.get("roxanne", [])) != {"female"} or set(by_person.get("diner", [])) != {"male"}:
        failures.append(f"faceres gender: Roxanne {by_person.get('roxanne')}, the diner {by_person.get('diner')}")
    messi = os.path.join(ref.PHOTOS, "messi5.jpg")
    messi_faces = os.path.join(out, "messi-faces.jsonl")
    zoo("apply", user_config("blazeface", out), messi, "-q", "-o", messi_faces)
    m_gender = jsonl_of(zoo("apply", gender, messi, "--patches", messi_faces, *patches).stdout)
    m_age = jsonl_of(zoo("apply", user_config("faceres-age", out), messi, "--patches", messi_faces,
                         *patches).stdout)
    label, age = m_gender[0]["predictions"], m_age[0]["predictions"]
    print(f"faceres on Messi's face: {label['label']} ({label['confidence']:.2f}), age {age['value']:.1f}")
    if label["label"] != "male" or age["_cls"] != "Regression" or not 18 <= age["value"] <= 45:
        failures.append(f"faceres on messi5.jpg: {label}, {age}")


def jsonl_of(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def check_patch_runs(faceres, emotion, faces, frames, npy, labels, out, failures):
    """Resumed and sharded runs on patches give the same files as one run."""
    index = os.path.join(out, "faces.paths.txt")
    embed = ["embed", faceres, *frames, "--patches", faces, "--patches-square", "--patches-alpha", "0.4",
             "--normalize", "-q"]
    # A run cut off after 3 rows (its index keeps 3 lines), then resumed.
    cut = os.path.join(out, "cut.npy")
    zoo(*embed, "-o", cut)
    lines = open(os.path.join(out, "cut.paths.txt")).readlines()
    with open(os.path.join(out, "cut.paths.txt"), "w") as f:
        f.writelines(lines[:3])
    resumed = zoo(*embed, "-o", cut, "--resume").stderr
    if open(cut, "rb").read() != open(npy, "rb").read() or \
            open(os.path.join(out, "cut.paths.txt")).read() != open(index).read():
        failures.append(f"zoo embed --patches --resume: the files differ from one run ({resumed.strip()})")
    apply = ["apply", emotion, *frames, "--patches", faces, "-q"]
    cut_labels = os.path.join(out, "cut.jsonl")
    zoo(*apply, "-o", cut_labels)
    records = open(cut_labels).readlines()
    with open(cut_labels, "w") as f:
        f.writelines(records[:5])
    zoo(*apply, "-o", cut_labels, "--resume")
    if open(cut_labels).read() != open(labels).read():
        failures.append("zoo apply --patches --resume: the labels differ from one run")
    # Three shards, merged.
    sharded, sharded_labels = os.path.join(out, "sharded.npy"), os.path.join(out, "sharded.jsonl")
    for k in range(3):
        zoo(*embed, "-o", sharded, "--shard", f"{k}/3")
        zoo(*apply, "-o", sharded_labels, "--shard", f"{k}/3")
    zoo("merge", sharded, "-q")
    zoo("merge", sharded_labels, "-q")
    if open(sharded, "rb").read() != open(npy, "rb").read() or \
            open(os.path.join(out, "sharded.paths.txt")).read() != open(index).read() or \
            open(sharded_labels).read() != open(labels).read():
        failures.append("zoo embed and apply --patches in 3 shards, merged: the files differ from one run")
    # What cannot be done is said: an input the file has no record of, a
    # detector on patches.
    other = os.path.join(ref.PHOTOS, "fruits.jpg")
    missing = zoo("apply", emotion, frames[0], other, "--patches", faces, "-q", expect=3).stdout
    if "has no record for this input" not in missing.splitlines()[-1]:
        failures.append(f"an input missing from --patches: {missing.splitlines()[-1]}")
    refused = zoo("apply", user_config("centernet", out), frames[0], "--patches", faces, "-q", expect=2).stderr
    if "on patches zoo apply runs classifiers" not in refused:
        failures.append(f"a detector on patches: {refused.strip()}")
    print("patches: resumed, sharded and merged runs equal one run; a missing input and a detector are refused")


def check_centernet_truth(out, failures):
    config = user_config("centernet", out)
    report = os.path.join(out, "darknet-eval.json")
    proc = subprocess.run([ref.zoo_binary(), "eval", config, "--truth", os.path.join(SOURCE, "examples",
                           "darknet-truth.json"), "--min", "ap50=0.8", "-q", "-o", report],
                          capture_output=True, text=True)
    r = json.load(open(report))
    per_class = ", ".join(f"{c['label']} {c['ap50']:.2f}" for c in r["per_class"])
    print(f"centernet on 5 darknet photos against examples/darknet-truth.json: AP50 {r['ap50']:.3f} ({per_class})")
    if proc.returncode != 0:
        failures.append(f"zoo eval centernet --min ap50=0.8 on the darknet photos: exit {proc.returncode}: "
                        f"{proc.stderr.strip()}")
    # The same detections as pycocotools' results with the truth's ids: one
    # per JSON Lines detection of a class the truth has, in pixels.
    truth_path = os.path.join(SOURCE, "examples", "darknet-truth.json")
    truth = json.load(open(truth_path))
    photos = [image["file_name"] for image in truth["images"]]
    records = jsonl_of(zoo("apply", config, *photos, "-q").stdout)
    results = json.loads(zoo("apply", config, *photos, "-q", "--format", "coco-results", "--coco-truth",
                             truth_path).stdout)
    category = {c["name"]: c["id"] for c in truth["categories"]}
    want = []
    for image, r in zip(truth["images"], records):
        for d in r["predictions"]["detections"]:
            if d["label"] in category:
                x, y, w, h = d["bounding_box"]
                want.append((image["id"], category[d["label"]], round(x * r["width"], 2), round(d["confidence"], 5)))
    got = [(a["image_id"], a["category_id"], round(a["bbox"][0], 2), round(a["score"], 5)) for a in results]
    if sorted(got) != sorted(want):
        failures.append(f"centernet --format coco-results: {len(got)} results, the JSON Lines give {len(want)}")


def main():
    subprocess.run([os.path.join(SOURCE, "scripts", "setup-tfjs.sh"), tfjs_dir()], check=True,
                   stdout=subprocess.DEVNULL)
    # A fresh folder: shards an earlier run finished would be taken as done.
    shutil.rmtree(ref.tmp_dir("tfjs-faces"))
    out = ref.tmp_dir("tfjs-faces")
    failures = []
    frames = extract_frames(out)
    blazeface = user_config("blazeface", out)
    check_blazeface_decode(blazeface, out, failures)
    check_face_detection(blazeface, out, failures)
    check_face_patches(blazeface, out, frames, failures)
    check_centernet_truth(out, failures)
    ref.finish(failures)


if __name__ == "__main__":
    main()
