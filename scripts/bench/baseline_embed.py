"""The Python baseline for scripts/bench/embed.sh: what FiftyOne's
compute_embeddings does for a torchvision model with embeddings_layer
"<fc" - PIL decode, torchvision Resize(256)/CenterCrop(224)/ToTensor/
Normalize in a DataLoader with 2 workers, the eager model under no_grad, a
forward hook on fc keeping its input, and np.save of the stacked rows at
the end. Prints images/s of the loop (np.save included).
Usage: baseline_embed.py STATE_DICT PHOTO_DIR THREADS OUT.npy"""

import glob
import sys
import time

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image


class Photos(torch.utils.data.Dataset):
    def __init__(self, paths):
        self.paths = paths
        self.transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return self.transform(Image.open(self.paths[i]).convert("RGB"))


def main():
    weights, folder, threads, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(threads)
    model = torchvision.models.resnet18(num_classes=1000)
    model.load_state_dict(torch.load(weights))
    model.eval()
    captured = {}
    model.fc.register_forward_hook(lambda module, args, output: captured.__setitem__("x", args[0]))
    paths = sorted(glob.glob(f"{folder}/*.jpg"))
    start = time.time()
    loader = torch.utils.data.DataLoader(Photos(paths), batch_size=16, num_workers=2)
    rows = []
    with torch.no_grad():
        for batch in loader:
            model(batch)
            rows.append(captured["x"].numpy().copy())
    np.save(out, np.concatenate(rows))
    seconds = time.time() - start
    print(f"{len(paths) / seconds:.2f}")


if __name__ == "__main__":
    main()
