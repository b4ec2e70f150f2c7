"""The Python baseline for scripts/bench/apply.sh: what FiftyOne's
apply_model does for a torchvision classifier — PIL decode, torchvision
Resize(256)/CenterCrop(224)/ToTensor/Normalize in a DataLoader with 2
workers, the eager model under no_grad, softmax and top-1 per image.
Prints images/s of the loop. Usage: baseline_apply.py STATE_DICT PHOTO_DIR THREADS"""

import glob
import sys
import time

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
    weights, folder, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    model = torchvision.models.resnet18(num_classes=1000)
    model.load_state_dict(torch.load(weights))
    model.eval()
    paths = sorted(glob.glob(f"{folder}/*.jpg"))
    start = time.time()
    loader = torch.utils.data.DataLoader(Photos(paths), batch_size=16, num_workers=2)
    labels = []
    with torch.no_grad():
        for batch in loader:
            probs = torch.softmax(model(batch), dim=1)
            labels.extend(probs.argmax(dim=1).tolist())
    seconds = time.time() - start
    print(f"{len(labels) / seconds:.2f}")


if __name__ == "__main__":
    main()
