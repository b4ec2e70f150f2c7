"""Reference test: the built-in resnet18 loading every weight-file format
PyTorch users have, vs PyTorch's logits, and the weight-file errors.

torchvision builds resnet18 with a fixed seed (BN statistics randomised so
eval mode is not an identity) and saves its weights as
torch.save(model.state_dict()) (an OrderedDict), a training checkpoint
{'epoch', 'state_dict', 'optimizer'}, a {'model': ...} dict of a
DataParallel model ("module." prefixes), a .safetensors file (written here:
the format is public), a state dict with an fp16 tensor, and a checkpoint
whose weights are under a key named by `weights_key`. zoo apply
--store-logits on real photos must match PyTorch's logits within 1e-4 (max
abs diff) for each. Then each weight error must exit 1 with a message that
names the file and the fault: wrong architecture, wrong num_classes,
a pickled os.system call (refused, and not run), truncated files, a
safetensors file with offsets past the end, the legacy format; and
`strict: false` must load what fits and say what did not."""

import collections
import copy
import io
import json
import os
import struct
import subprocess
import sys
import zipfile

import numpy as np
import torch
import torchvision

import zoo_reference as ref

TOL = 1e-4
PHOTOS = ["baboon.jpg", "fruits.jpg", "messi5.jpg"]
SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                      torch.uint8: "U8", torch.bool: "BOOL"}


def make_resnet18(seed, num_classes=1000):
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(num_classes=num_classes)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    return model.eval()


def save_safetensors(tensors, path, shift_last=0):
    """The safetensors format: 8-byte little-endian header length, a JSON
    header {name: {dtype, shape, data_offsets}} padded with spaces to 8
    bytes, then the tensors' raw bytes back to back. `shift_last` moves the
    last tensor's offsets (to make a corrupt file)."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    names = list(tensors)
    for i, name in enumerate(names):
        t = tensors[name].detach().contiguous()
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes()
        begin, end = offset, offset + len(data)
        if i == len(names) - 1:
            begin, end = begin + shift_last, end + shift_last
        header[name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [begin, end]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


class Payload:
    """Runs a shell command when an unrestricted unpickler loads it."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def rewrite_zip(src, dst, edit):
    """Copies the zip `src` to `dst` (stored, as PyTorch writes it), passing
    each record's bytes through edit(name, data)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, edit(info.filename, zin.read(info.filename)))


def logits_of(records):
    return {r["filepath"]: np.array(r["predictions"]["logits"], dtype=np.float64) for r in records}


def main():
    out = ref.tmp_dir("reference_weights")
    model = make_resnet18(0)
    sd = model.state_dict()
    labels = os.path.join(ref.PHOTOS, "dnn", "classification_classes_ILSVRC2012.txt")
    common = f"""image_dim: 256
center_crop: 224
image_mean: {ref.IMAGENET_MEAN}
image_std: {ref.IMAGENET_STD}
labels_path: {labels}
"""
    pre = {"image_dim": 256, "center_crop": [224, 224], "image_mean": ref.IMAGENET_MEAN,
           "image_std": ref.IMAGENET_STD}
    paths = [os.path.join(ref.PHOTOS, p) for p in PHOTOS]
    inputs = torch.stack([torch.from_numpy(ref.preprocess(p, pre)[0]) for p in paths])

    def write_config(name, weights, extra=""):
        path = os.path.join(out, f"{name}.yaml")
        with open(path, "w") as f:
            f.write(f"entrypoint: resnet18\nweights: {weights}\n{extra}{common}")
        return path

    # --- The formats, each with the model whose logits zoo must reproduce.
    torch.save(sd, os.path.join(out, "ordered_dict.pth"))
    assert isinstance(torch.load(os.path.join(out, "ordered_dict.pth")), collections.OrderedDict)

    trained = copy.deepcopy(model).train()
    optimizer = torch.optim.SGD(trained.parameters(), lr=0.1, momentum=0.9)
    trained(inputs[:2]).sum().backward()
    optimizer.step()  # fills the optimizer state with momentum tensors
    torch.save({"epoch": 3, "state_dict": sd, "optimizer": optimizer.state_dict(), "best_acc1": torch.tensor(75.5),
                "arch": "resnet18"}, os.path.join(out, "checkpoint.pth"))

    torch.save({"model": torch.nn.DataParallel(model).state_dict()}, os.path.join(out, "dataparallel.pth"))

    save_safetensors(sd, os.path.join(out, "resnet18.safetensors"))

    half_model = copy.deepcopy(model)
    with torch.no_grad():
        half_model.fc.weight.copy_(half_model.fc.weight.half().float())
    half_sd = collections.OrderedDict(sd)
    half_sd["fc.weight"] = sd["fc.weight"].half()
    torch.save(half_sd, os.path.join(out, "fp16.pth"))

    other = make_resnet18(1).state_dict()
    torch.save({"state_dict": other, "ema": sd}, os.path.join(out, "ema.pth"))

    formats = [
        ("OrderedDict state dict", write_config("ordered_dict", "ordered_dict.pth"), model),
        ("checkpoint['state_dict']", write_config("checkpoint", "checkpoint.pth"), model),
        ("{'model': DataParallel}", write_config("dataparallel", "dataparallel.pth"), model),
        ("safetensors", write_config("safetensors", "resnet18.safetensors"), model),
        ("fp16 fc.weight", write_config("fp16", "fp16.pth"), half_model),
        ("weights_key: ema", write_config("ema", "ema.pth", "weights_key: ema\n"), model),
    ]
    failures = []
    for name, config, reference in formats:
        with torch.no_grad():
            expected = reference(inputs).double().numpy()
        records, _ = ref.run_zoo(["apply", config, *paths, "--top-k", "1000", "--store-logits", "-q"])
        got = logits_of(records)
        if sorted(got) != sorted(paths):
            failures.append(f"{name}: records for {sorted(got)}, expected {sorted(paths)}")
            continue
        worst = max(float(np.abs(got[p] - expected[i]).max()) for i, p in enumerate(paths))
        scale = float(np.abs(expected).max())
        print(f"{name:26s} {len(paths)} photos, max |logit_zoo - logit_torch| = {worst:.2e} (|logits| up to {scale:.2f})")
        if worst > TOL:
            failures.append(f"{name} ({config}): max logit diff {worst:.2e} > {TOL}")

    # --- Errors: exit 1, the file named, the fault named.
    def expect_error(name, config, parts, exit_code=1):
        proc = subprocess.run([ref.zoo_binary(), "apply", config, paths[0], "-q"], capture_output=True, text=True)
        message = proc.stderr.strip()
        missing = [p for p in parts if p not in message]
        if proc.returncode != exit_code or missing:
            failures.append(f"{name}: exit {proc.returncode} (expected {exit_code}), message lacks {missing}:\n"
                            f"  {message}")
        else:
            print(f"{name:26s} exit {proc.returncode}: {message.splitlines()[-1][:150]}")
        return proc

    torch.manual_seed(0)
    resnet34 = torchvision.models.resnet34().state_dict()
    torch.save(resnet34, os.path.join(out, "resnet34.pth"))
    extra = [k for k in resnet34 if k not in sd]
    expect_error("resnet34 into resnet18", write_config("resnet34", "resnet34.pth"),
                 ["resnet34.pth", f"unexpected keys ({len(extra)}): {extra[0]}, {extra[1]}", "strict: false"])

    torch.save(make_resnet18(0, num_classes=10).state_dict(), os.path.join(out, "ten_classes.pth"))
    expect_error("num_classes 10 vs 1000", write_config("ten_classes", "ten_classes.pth"),
                 ["ten_classes.pth", "shape mismatches (2)", "fc.weight (file [10, 512], model [1000, 512])",
                  "fc.bias (file [10], model [1000])"])
    proc = expect_error("strict: false, new head", write_config("partial", "ten_classes.pth", "strict: false\n"),
                        ["ten_classes.pth", f"partial load ({len(sd) - 2} of {len(sd)} tensors)",
                         "left at their initial values", "fc.weight (file [10, 512], model [1000, 512])"], exit_code=0)
    if proc.returncode == 0 and len(proc.stdout.splitlines()) != 1:
        failures.append(f"strict: false: expected one record, got:\n{proc.stdout}")

    # A pickle that runs a command when an unrestricted loader reads it.
    marker = os.path.join(out, "pwned")
    if os.path.exists(marker):
        os.remove(marker)
    evil = os.path.join(out, "evil.pth")
    torch.save({"conv1.weight": sd["conv1.weight"], "payload": Payload(f"touch {marker}")}, evil)
    torch.load(evil)  # PyTorch's own loader runs it: the payload is real
    if not os.path.exists(marker):
        failures.append(f"test setup: torch.load({evil}) did not create {marker}")
    os.remove(marker)
    expect_error("pickled posix.system", write_config("evil", "evil.pth"),
                 ["evil.pth", "refusing to load pickled global 'posix.system'"])
    evil_os = os.path.join(out, "evil_os.pth")
    rewrite_zip(evil, evil_os, lambda name, data: data.replace(b"cposix\nsystem\n", b"cos\nsystem\n")
                if name.endswith("data.pkl") else data)
    expect_error("pickled os.system", write_config("evil_os", "evil_os.pth"),
                 ["evil_os.pth", "refusing to load pickled global 'os.system'"])
    if os.path.exists(marker):
        failures.append(f"zoo ran the pickled command: {marker} exists")

    with open(os.path.join(out, "ordered_dict.pth"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.pth"), "wb") as f:
        f.write(data[:len(data) // 2])
    expect_error("truncated torch.save", write_config("truncated", "truncated.pth"),
                 ["truncated.pth", "truncated or corrupt zip archive"])
    with open(os.path.join(out, "resnet18.safetensors"), "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.safetensors"), "wb") as f:
        f.write(data[:len(data) // 2])
    expect_error("truncated safetensors", write_config("truncated_st", "truncated.safetensors"),
                 ["truncated.safetensors", "lie past the end of the data", "truncated"])
    save_safetensors(sd, os.path.join(out, "past_end.safetensors"), shift_last=4096)
    expect_error("safetensors past the end", write_config("past_end", "past_end.safetensors"),
                 ["past_end.safetensors", 'tensor "fc.bias"', "lie past the end of the data"])

    torch.save(sd, os.path.join(out, "legacy.pth"), _use_new_zipfile_serialization=False)
    expect_error("legacy torch.save", write_config("legacy", "legacy.pth"),
                 ["legacy.pth", "legacy torch.save format"])

    ref.finish(failures)


if __name__ == "__main__":
    main()
