"""The Python baseline for scripts/bench/train.sh: the same small CNN as
zoo's built-in small_cnn (module names match), trained with PyTorch on the
same class-per-folder PNG tree, batch size, optimizer (Adam), cosine
schedule, threads and a DataLoader with the same number of workers; no
augmentation. Prints one JSON line: seconds per epoch and test accuracy.
Usage: baseline_train.py TRAIN_DIR TEST_DIR EPOCHS BATCH THREADS WORKERS STAGES [flush]
With "flush", denormals are flushed to zero (torch.set_flush_denormal), as
zoo does; plain PyTorch does not, and is several times slower here."""

import json
import math
import sys
import time

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T


def cbr(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    """zoo's small_cnn (lib/models/arch_small_cnn.cpp), stages 2 or 3."""

    def __init__(self, num_classes=10, in_channels=1, width=32, stages=2, dropout=0.25):
        super().__init__()
        w = width
        layers = cbr(in_channels, w) + cbr(w, w) + [nn.MaxPool2d(2)] + cbr(w, 2 * w) + cbr(2 * w, 2 * w) + \
            [nn.MaxPool2d(2)]
        if stages == 3:
            layers += cbr(2 * w, 4 * w) + cbr(4 * w, 4 * w)
        self.features = nn.Sequential(*layers)  # registered first: zoo's (and torchvision's) module order
        if stages == 3:
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * w, num_classes))
        else:
            self.avgpool = nn.AdaptiveAvgPool2d(3)
            self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * w * 9, 128), nn.ReLU(inplace=True),
                                            nn.Dropout(dropout), nn.Linear(128, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def main():
    train_dir, test_dir, epochs, batch, threads, workers, stages = sys.argv[1:8]
    FLUSH_DENORMAL = len(sys.argv) > 8 and sys.argv[8] == "flush"
    epochs, batch, threads, workers, stages = int(epochs), int(batch), int(threads), int(workers), int(stages)
    torch.set_num_threads(threads)
    torch.set_flush_denormal(FLUSH_DENORMAL)
    torch.manual_seed(0)
    transform = T.Compose([T.Grayscale(), T.ToTensor(), T.Normalize([0.5], [0.5])])
    train = torchvision.datasets.ImageFolder(train_dir, transform=transform)
    test = torchvision.datasets.ImageFolder(test_dir, transform=transform)
    loader = torch.utils.data.DataLoader(train, batch_size=batch, shuffle=True, num_workers=workers)
    model = SmallCNN(num_classes=len(train.classes), stages=stages)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: 0.5 * (1 + math.cos(math.pi * e / epochs)))
    seconds = []
    for epoch in range(epochs):
        start = time.time()
        model.train()
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
        seconds.append(time.time() - start)
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(test, batch_size=256):
            correct += int((model(x).argmax(1) == y).sum())
    print(json.dumps({"seconds_per_epoch": sum(seconds) / len(seconds), "test_accuracy": correct / len(test)}))


if __name__ == "__main__":
    main()
