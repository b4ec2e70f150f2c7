"""Writes the demo model: torchvision's resnet18 with seeded random weights
(no pretrained weights can be downloaded here), as TorchScript, to the path
given (default models/resnet18-demo.pt). Run with /usr/bin/python3."""

import os
import sys

import torch
import torchvision

path = sys.argv[1] if len(sys.argv) > 1 else "models/resnet18-demo.pt"
os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=1000).eval()
torch.jit.script(model).save(path + ".tmp")
os.replace(path + ".tmp", path)
print(f"wrote {path}", file=sys.stderr)
