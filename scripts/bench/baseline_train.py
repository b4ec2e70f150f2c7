"""The Python baseline for scripts/bench/train.sh: the same small CNN as
zoo's built-in small_cnn (module names match), trained with PyTorch on the
same class-per-folder PNG tree, batch size, optimizer (Adam), cosine
schedule, threads and a DataLoader with the same number of workers; no
augmentation. Prints one JSON line: seconds per epoch and test accuracy.
Usage: baseline_train.py TRAIN_DIR TEST_DIR EPOCHS BATCH THREADS WORKERS [flush]
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


class SmallCNN(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, width=32, dropout=0.25):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.Conv2d(w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * w * 9, 128), nn.ReLU(inplace=True),
                                        nn.Dropout(dropout), nn.Linear(128, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.features(x)
        x = torch.nn.functional.adaptive_avg_pool2d(x, 3)
        return self.classifier(torch.flatten(x, 1))


def main():
    train_dir, test_dir, epochs, batch, threads, workers = sys.argv[1:7]
    FLUSH_DENORMAL = len(sys.argv) > 7 and sys.argv[7] == "flush"
    epochs, batch, threads, workers = int(epochs), int(batch), int(threads), int(workers)
    torch.set_num_threads(threads)
    torch.set_flush_denormal(FLUSH_DENORMAL)
    torch.manual_seed(0)
    transform = T.Compose([T.Grayscale(), T.ToTensor(), T.Normalize([0.5], [0.5])])
    train = torchvision.datasets.ImageFolder(train_dir, transform=transform)
    test = torchvision.datasets.ImageFolder(test_dir, transform=transform)
    loader = torch.utils.data.DataLoader(train, batch_size=batch, shuffle=True, num_workers=workers)
    model = SmallCNN(num_classes=len(train.classes))
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
