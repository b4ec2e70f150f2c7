"""Scripts a torchvision detection or segmentation model with
torch.jit.script and saves it, for zoo apply (detection models: a config
with `input: list`; segmentation models: `output_processor: segmenter`).

    /usr/bin/python3 scripts/export-torchvision-model.py NAME OUT.pt [--weights STATE_DICT.pth] [--arg KEY=VALUE ...]

NAME is a builder of torchvision.models.detection or
torchvision.models.segmentation (fasterrcnn_mobilenet_v3_large_320_fpn,
maskrcnn_resnet50_fpn, keypointrcnn_resnet50_fpn, lraspp_mobilenet_v3_large,
...). --weights loads a state dict saved with torch.save (no weights can be
downloaded on these machines; without it the weights are random, seed 0).
--arg passes builder arguments (box_score_thresh=0.3, min_size=512, ...)."""

import argparse
import ast
import os
import sys

import torch
from torchvision.models import detection, segmentation


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name")
    parser.add_argument("out")
    parser.add_argument("--weights")
    parser.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    builder = getattr(detection, args.name, None) or getattr(segmentation, args.name, None)
    if builder is None or not callable(builder):
        sys.exit(f"unknown model {args.name!r}: not in torchvision.models.detection or .segmentation")
    kwargs = {"weights": None, "weights_backbone": None}
    for item in args.arg:
        key, _, value = item.partition("=")
        try:
            kwargs[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            kwargs[key] = value
    torch.manual_seed(0)
    model = builder(**kwargs)
    if args.weights:
        model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    model.eval()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    torch.jit.script(model).save(args.out + ".tmp")
    os.replace(args.out + ".tmp", args.out)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
