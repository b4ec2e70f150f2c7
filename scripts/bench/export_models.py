"""The models of scripts/bench/models.sh: for each architecture named, the
same network as zoo's built-in one, with random weights (torch.manual_seed(0);
BatchNorm statistics set from one batch of noise so that activations have
the scale of a trained network's rather than the tiny ones of a fresh init),
saved twice: OUT/NAME.pth (dict(state_dict()), what `entrypoint: NAME`
loads) and OUT/NAME.pt (torch.jit.script of the model, what `entrypoint:
torchscript` loads). torchvision builds every architecture but small_cnn,
which is baseline_train.py's SmallCNN (lib/models/arch_small_cnn.cpp's
network, with its default entrypoint_args).
With --onnx, also OUT/NAME.onnx (torch.onnx.export, opset 13, the batch
dimension dynamic), what scripts/bench/ort.sh gives ONNX Runtime, and
OUT/NAME.opencv.onnx for OpenCV 4.6's DNN module, which reads neither
opset 11's Clip (ReLU6's bounds as inputs) nor an Identity of a weight (the
exporter's for two equal weights): opset 10, each such Identity replaced by
a copy of the weight. Both need Debian's python3-onnx.
Files already there are kept.
Usage: export_models.py [--onnx] OUT NAME..."""

import os
import sys

import torch
import torchvision
from torch import nn

from baseline_train import SmallCNN


def build(name):
    if name == "small_cnn":
        return SmallCNN(), (2, 1, 20, 20)
    return getattr(torchvision.models, name)(), (2, 3, 224, 224)


def set_batch_norm_statistics(model, shape):
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: one batch sets the statistics
    model.train()
    with torch.no_grad():
        model(torch.randn(shape))
    for m in bns:
        m.momentum = 0.1


def export_onnx(model, shape, path, opset):
    with torch.no_grad():
        torch.onnx.export(model, torch.randn(shape), path + ".tmp", opset_version=opset, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    os.replace(path + ".tmp", path)


def inline_weight_identities(path):
    import onnx
    graph_model = onnx.load(path)
    graph = graph_model.graph
    weights = {w.name: w for w in graph.initializer}
    kept = []
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in weights:
            copy = onnx.TensorProto()
            copy.CopyFrom(weights[node.input[0]])
            copy.name = node.output[0]
            graph.initializer.append(copy)
        else:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    onnx.save(graph_model, path)


def main():
    args = sys.argv[1:]
    onnx = "--onnx" in args
    if onnx:
        args.remove("--onnx")
    out, names = args[0], args[1:]
    os.makedirs(out, exist_ok=True)
    for name in names:
        pth, pt, ox, cv = (os.path.join(out, f"{name}.{ext}") for ext in ("pth", "pt", "onnx", "opencv.onnx"))
        if os.path.exists(pth) and os.path.exists(pt) and (not onnx or (os.path.exists(ox) and os.path.exists(cv))):
            continue
        torch.manual_seed(0)
        model, shape = build(name)
        set_batch_norm_statistics(model, shape)
        model.eval()
        if not (os.path.exists(pth) and os.path.exists(pt)):
            torch.save(dict(model.state_dict()), pth + ".tmp")
            torch.jit.script(model).save(pt + ".tmp")
            os.replace(pth + ".tmp", pth)
            os.replace(pt + ".tmp", pt)
        else:  # the same weights as the files there
            model.load_state_dict(torch.load(pth))
        if onnx and not os.path.exists(ox):
            export_onnx(model, shape, ox, 13)
        if onnx and not os.path.exists(cv):
            export_onnx(model, shape, cv + ".part", 10)
            inline_weight_identities(cv + ".part")
            os.replace(cv + ".part", cv)
        print(f"exported {name}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
