"""COCO bbox evaluation as pycocotools' COCOeval does it (iouType "bbox",
areaRng "all", maxDets 100), for checking zoo eval: pycocotools is not a
Debian package. evaluate(truth, detections) takes a COCO instances dict and
{image_id: [(category_id, [x, y, w, h], score), ...]} and returns mAP, AP50,
AP75, per-category AP and AP50, and the true/false positives at IoU 0.5
(zoo's counts: every category, a detection of one without boxes is a false
positive; COCOeval has no such counts). Not ported: the detection-area
ignore of negative-area detections (zoo refuses negative sizes), and
pycocotools' use of annotation ids as match flags (id 0 never matches)."""
from collections import defaultdict

import numpy as np


def _iou(d, g, crowd):
    w = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
    if w <= 0:
        return 0.0
    h = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
    if h <= 0:
        return 0.0
    inter = w * h
    u = d[2] * d[3] if crowd else d[2] * d[3] + g[2] * g[3] - inter
    return inter / u if u > 0 else 0.0


def evaluate(truth, detections):
    img_ids = sorted(i["id"] for i in truth["images"])
    cat_ids = sorted(c["id"] for c in truth["categories"])
    gts, dts = defaultdict(list), defaultdict(list)
    for a in truth["annotations"]:
        gts[a["image_id"], a["category_id"]].append(a)
    for img, items in detections.items():
        for cat, bbox, score in items:
            dts[img, cat].append({"bbox": bbox, "score": score})
    iou_thrs = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
    rec_thrs = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)
    T, R, K = len(iou_thrs), len(rec_thrs), len(cat_ids)
    precision = -np.ones((T, R, K))
    counts = {}
    for k, cat in enumerate(cat_ids):
        E = []
        for img in img_ids:
            gt, dt = gts[img, cat], dts[img, cat]
            if not gt and not dt:
                continue
            ignore = np.array([1 if g.get("iscrowd", 0) or not 0 <= g.get("area", 0) <= 1e10 else 0 for g in gt], dtype=int)
            gtind = np.argsort(ignore, kind="mergesort")
            gt = [gt[i] for i in gtind]
            ignore = ignore[gtind]
            crowd = np.array([int(g.get("iscrowd", 0)) for g in gt], dtype=int)
            dtind = np.argsort([-d["score"] for d in dt], kind="mergesort")
            dt = [dt[i] for i in dtind[:100]]
            ious = np.array([[_iou(d["bbox"], g["bbox"], crowd[j]) for j, g in enumerate(gt)] for d in dt])
            gtm = np.zeros((T, len(gt)))
            dtm = np.zeros((T, len(dt)))
            dt_ig = np.zeros((T, len(dt)))
            for tind, t in enumerate(iou_thrs):
                for dind in range(len(dt)):
                    iou, m = min([t, 1 - 1e-10]), -1
                    for gind in range(len(gt)):
                        if gtm[tind, gind] > 0 and not crowd[gind]:
                            continue
                        if m > -1 and ignore[m] == 0 and ignore[gind] == 1:
                            break
                        if ious[dind, gind] < iou:
                            continue
                        iou, m = ious[dind, gind], gind
                    if m == -1:
                        continue
                    dt_ig[tind, dind] = ignore[m]
                    dtm[tind, dind] = 1
                    gtm[tind, m] = 1
            E.append((np.array([d["score"] for d in dt]), dtm, dt_ig, int(np.count_nonzero(ignore == 0))))
        if not E:
            continue
        scores = np.concatenate([e[0] for e in E])
        inds = np.argsort(-scores, kind="mergesort")
        dtm = np.concatenate([e[1] for e in E], axis=1)[:, inds]
        dt_ig = np.concatenate([e[2] for e in E], axis=1)[:, inds]
        npig = sum(e[3] for e in E)
        tps = np.logical_and(dtm, np.logical_not(dt_ig))
        fps = np.logical_and(np.logical_not(dtm), np.logical_not(dt_ig))
        counts[cat] = (int(tps[0].sum()), int(fps[0].sum()), npig)
        if npig == 0:
            continue
        tp_sum = np.cumsum(tps, axis=1).astype(dtype=float)
        fp_sum = np.cumsum(fps, axis=1).astype(dtype=float)
        for t, (tp, fp) in enumerate(zip(tp_sum, fp_sum)):
            tp, fp = np.array(tp), np.array(fp)
            nd = len(tp)
            rc = tp / npig
            pr = (tp / (fp + tp + np.spacing(1))).tolist()
            q = np.zeros((R,))
            for i in range(nd - 1, 0, -1):
                if pr[i] > pr[i - 1]:
                    pr[i - 1] = pr[i]
            for ri, pi in enumerate(np.searchsorted(rc, rec_thrs, side="left")):
                if pi < nd:
                    q[ri] = pr[pi]
            precision[t, :, k] = q

    def mean(p):
        return float(np.mean(p[p > -1])) if np.any(p > -1) else -1.0

    names = {c["id"]: c["name"] for c in truth["categories"]}
    per_class = {}
    for k, cat in enumerate(cat_ids):
        p = precision[:, :, k]
        per_class[names[cat]] = {"ap": mean(p), "ap50": mean(p[0]), "ap75": mean(p[5])}
    tp = sum(c[0] for c in counts.values())
    fp = sum(c[1] for c in counts.values())
    fn = sum(c[2] - c[0] for c in counts.values())
    return {"map": mean(precision), "ap50": mean(precision[0]), "ap75": mean(precision[5]),
            "per_class": per_class, "tp": tp, "fp": fp, "fn": fn}


def load_res(truth, results):
    """pycocotools' COCO.loadRes checks and what it derives, on a results
    list already read from JSON: it must be a list (an empty one fails on
    anns[0] there), every image_id one of the truth's; the first entry's
    keys decide the kind (bbox, else segmentation, else keypoints). Returns
    {image_id: [(category_id, bbox, score), ...]} for evaluate()."""
    assert type(results) == list, "results in not an array of objects"
    assert results, "pycocotools' loadRes reads anns[0]: an empty list raises IndexError"
    image_ids = {i["id"] for i in truth["images"]}
    ann_ids = [a["image_id"] for a in results]
    assert set(ann_ids) == (set(ann_ids) & image_ids), "Results do not correspond to current coco set"
    first = results[0]
    assert "caption" not in first
    dets = {}
    for i, ann in enumerate(results):
        if "bbox" in first and first["bbox"] != []:
            bb = ann["bbox"]
            assert len(bb) == 4 and all(isinstance(v, (int, float)) for v in bb), ann
            ann["area"] = bb[2] * bb[3]
        elif "segmentation" in first:
            ann["area"] = rle_area(ann["segmentation"])
        elif "keypoints" in first:
            s = ann["keypoints"]
            x, y = s[0::3], s[1::3]
            ann["bbox"] = [min(x), min(y), max(x) - min(x), max(y) - min(y)]
        else:
            raise AssertionError("an entry with neither bbox, segmentation nor keypoints")
        ann["id"] = i + 1
        assert isinstance(ann["category_id"], int) and isinstance(ann["score"], (int, float)), ann
        dets.setdefault(ann["image_id"], []).append((ann["category_id"], ann["bbox"], ann["score"]))
    return dets


def rle_counts(s):
    """pycocotools' rleFrString: the run lengths of a compressed counts string."""
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = c & 0x20
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_decode(rle):
    """The mask (rows x columns, 0/1) of a compressed RLE {"size": [h, w], "counts": str}."""
    h, w = rle["size"]
    flat = np.zeros(h * w, dtype=np.uint8)
    at, v = 0, 0
    for run in rle_counts(rle["counts"]):
        flat[at:at + run] = v
        at, v = at + run, 1 - v
    assert at == h * w, (at, h * w)
    return flat.reshape((w, h)).T  # column-major


def rle_area(rle):
    return int(rle_decode(rle).sum())
