"""The Python side of scripts/bench/ort.sh: the parity input and PyTorch's
reference output, OpenCV's DNN module as a peer, and the parity check.

  onnx_peers.py prepare DIR PHOTO
      DIR/parity.png: PHOTO's centre square at 224x224 (what zoo reads);
      DIR/input.bin: that image as the models' input (RGB, /255, ImageNet
      mean and std; float32, 1x3x224x224).
  onnx_peers.py torch DIR MODELS NAME
      DIR/NAME.torch.bin: torchvision's NAME with MODELS/NAME.pth's weights
      on DIR/input.bin (float32 logits).
  onnx_peers.py opencv-run DIR MODELS NAME THREADS
      DIR/NAME.opencv.bin: OpenCV's DNN module on MODELS/NAME.opencv.onnx.
  onnx_peers.py opencv-bench MODEL.onnx BATCH SECONDS THREADS
      images/s of OpenCV's DNN module, as ort_bench.js measures ORT.
  onnx_peers.py compare DIR NAME ZOO_JSONL
      the largest difference of zoo's, ORT's and OpenCV's logits from
      PyTorch's, relative to PyTorch's largest magnitude: one line,
      "zoo=X ort=Y opencv=Z" (a missing output is "-").
"""

import json
import os
import sys
import time

import numpy as np

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def prepare(out, photo):
    import cv2
    image = cv2.imread(photo)
    h, w = image.shape[:2]
    s = min(h, w)
    image = image[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    image = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA)
    cv2.imwrite(os.path.join(out, "parity.png"), image)
    rgb = image[:, :, ::-1].astype(np.float32) / 255.0
    x = ((rgb - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)
    x.tofile(os.path.join(out, "input.bin"))


def load_input(out):
    return np.fromfile(os.path.join(out, "input.bin"), np.float32).reshape(1, 3, 224, 224)


def run_torch(out, models, name):
    import torch
    import torchvision
    model = getattr(torchvision.models, name)()
    model.load_state_dict(torch.load(os.path.join(models, f"{name}.pth")))
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(load_input(out))).numpy()
    y.astype(np.float32).tofile(os.path.join(out, f"{name}.torch.bin"))


def opencv_net(model, threads):
    import cv2
    cv2.setNumThreads(threads)
    try:
        net = cv2.dnn.readNetFromONNX(model)
    except cv2.error as e:
        sys.exit(f"OpenCV cannot read {model}: {str(e).strip().splitlines()[-1]}")
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    return net


def opencv_run(out, models, name, threads):
    net = opencv_net(os.path.join(models, f"{name}.opencv.onnx"), threads)
    import cv2
    net.setInput(load_input(out))
    try:
        y = net.forward()
    except cv2.error as e:
        sys.exit(f"OpenCV cannot run {name}: {str(e).strip().splitlines()[-1]}")
    y.astype(np.float32).tofile(os.path.join(out, f"{name}.opencv.bin"))


def opencv_bench(model, batch, seconds, threads):
    import cv2
    net = opencv_net(model, threads)
    x = np.random.default_rng(12345).uniform(-2, 2, (batch, 3, 224, 224)).astype(np.float32)
    net.setInput(x)
    try:
        net.forward()  # warm-up
    except cv2.error as e:
        sys.exit(f"OpenCV cannot run {model}: {str(e).strip().splitlines()[-1]}")
    spent, runs = 0.0, 0
    while spent < seconds or runs < 3:
        net.setInput(x)
        start = time.perf_counter()
        net.forward()
        spent += time.perf_counter() - start
        runs += 1
    print(f"{runs * batch / spent:.2f} images/s ({runs} batches of {batch})")


def compare(out, name, zoo_jsonl):
    reference = np.fromfile(os.path.join(out, f"{name}.torch.bin"), np.float32)
    scale = float(np.abs(reference).max())

    def off(values):
        if values is None or values.size != reference.size:
            return "-"
        return f"{float(np.abs(values - reference).max()) / scale:.1e}"

    zoo = None
    if os.path.exists(zoo_jsonl):
        with open(zoo_jsonl) as f:
            record = json.loads(f.readline())
        label = record.get("predictions", {})
        if "logits" in label:
            zoo = np.array(label["logits"], np.float32)
    peers = {}
    for engine in ("ort", "opencv"):
        path = os.path.join(out, f"{name}.{engine}.bin")
        peers[engine] = np.fromfile(path, np.float32) if os.path.exists(path) else None
    print(f"zoo={off(zoo)} ort={off(peers['ort'])} opencv={off(peers['opencv'])}")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "prepare":
        prepare(*args)
    elif command == "torch":
        run_torch(*args)
    elif command == "opencv-run":
        opencv_run(args[0], args[1], args[2], int(args[3]))
    elif command == "opencv-bench":
        opencv_bench(args[0], int(args[1]), float(args[2]), int(args[3]))
    elif command == "compare":
        compare(*args)
    else:
        sys.exit(f"onnx_peers.py: unknown command {command}")


if __name__ == "__main__":
    main()
