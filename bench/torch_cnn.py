"""PyTorch side of `npm run bench -- --cnn` (bench/cnn.ts): the same workloads as warmstart's, in one process.

- `epoch`: one epoch of the study's small CNN (Conv2d 32 3x3 relu, MaxPool 2, Conv2d 64 3x3 relu, MaxPool 2,
  Linear 1600->128 relu, Linear 128->8; softmax fused into the cross-entropy) on Fashion-MNIST task A read
  from raw uint8 files, SGD lr 1e-2, batch 32, shuffled, per-batch accuracy as Keras logs it, then the
  evaluation of the validation images; timed after a warm-up of 50 steps.
- `mobilenet`: images per second of inference with MobileNetV2 (alpha 0.35, 96x96x3, 10 classes), built here
  layer for layer as keras.applications builds it (torchvision is not installed on this machine), in eval
  mode, at the given batch sizes.

Usage: python3 torch_cnn.py '{"mode": "epoch", "threads": 1, "dir": ..., "train": N, "valid": N, "steps": S}'
       python3 torch_cnn.py '{"mode": "mobilenet", "threads": 1, "batches": [1, 32], "images": 256}'
Prints one JSON object (with torch.__config__.show()'s BLAS and MKL-DNN lines).
"""

import json
import os
import sys
import time


def config_lines(torch):
    shown = torch.__config__.show().splitlines()
    keep = [line.strip() for line in shown if "MKL" in line or "BLAS" in line or "CPU capability" in line]
    # The build-settings line is long: keep only its BLAS entries.
    out = []
    for line in keep:
        if line.startswith("- Build settings"):
            out.extend(part.strip() for part in line.split(",") if "BLAS" in part or "MKLDNN" in part)
        else:
            out.append(line)
    return out


def small_cnn(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1600, 128),
        nn.ReLU(),
        nn.Linear(128, 8),
    )


def epoch(torch, spec):
    directory = spec["dir"]
    n_train, n_valid = spec["train"], spec["valid"]

    def read(name, shape):
        with open(os.path.join(directory, name), "rb") as handle:
            return torch.frombuffer(bytearray(handle.read()), dtype=torch.uint8).reshape(shape)

    x_train = read("train-images.u8", (n_train, 1, 28, 28)).float() / 255
    y_train = read("train-labels.u8", (n_train,)).long()
    x_valid = read("valid-images.u8", (n_valid, 1, 28, 28)).float() / 255
    y_valid = read("valid-labels.u8", (n_valid,)).long()
    torch.manual_seed(1)
    model = small_cnn(torch)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2)
    batch = 32

    def train(steps):
        order = torch.randperm(n_train)
        total, correct = 0.0, 0
        for s in range(steps):
            index = order[s * batch : (s + 1) * batch]
            xb, yb = x_train[index], y_train[index]
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
            correct += (logits.argmax(1) == yb).sum().item()
        return total, correct

    def evaluate():
        with torch.no_grad():
            for start in range(0, n_valid, batch):
                logits = model(x_valid[start : start + batch])
                loss_fn(logits, y_valid[start : start + batch]).item()
                (logits.argmax(1) == y_valid[start : start + batch]).sum().item()

    steps = spec.get("steps") or (n_train + batch - 1) // batch
    train(50)
    t0 = time.perf_counter()
    train(steps)
    t1 = time.perf_counter()
    evaluate()
    t2 = time.perf_counter()
    return {"trainSeconds": t1 - t0, "evalSeconds": t2 - t1, "steps": steps}


def make_divisible(value, divisor=8):
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def mobilenet_v2(torch, alpha=0.35, classes=10):
    """keras.applications.MobileNetV2's layers: BN epsilon 1e-3, ReLU6, 'same' padding (asymmetric zero padding
    before the strided depthwise convolutions, as Keras's correct_pad)."""
    nn = torch.nn

    def bn(channels):
        return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.001)

    class Block(nn.Module):
        def __init__(self, inputs, filters, stride, expansion):
            super().__init__()
            hidden = inputs * expansion
            layers = []
            if expansion != 1:
                layers += [nn.Conv2d(inputs, hidden, 1, bias=False), bn(hidden), nn.ReLU6()]
            if stride == 2:
                layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(hidden, hidden, 3, 2, 0, groups=hidden, bias=False)]
            else:
                layers += [nn.Conv2d(hidden, hidden, 3, 1, 1, groups=hidden, bias=False)]
            layers += [bn(hidden), nn.ReLU6(), nn.Conv2d(hidden, filters, 1, bias=False), bn(filters)]
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and inputs == filters

        def forward(self, x):
            y = self.body(x)
            return x + y if self.residual else y

    first = make_divisible(32 * alpha)
    layers = [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(3, first, 3, 2, 0, bias=False), bn(first), nn.ReLU6()]
    inputs = first
    settings = [(16, 1, 1, 1), (24, 2, 2, 6), (32, 3, 2, 6), (64, 4, 2, 6), (96, 3, 1, 6), (160, 3, 2, 6), (320, 1, 1, 6)]
    for filters, repeats, stride, expansion in settings:
        out = make_divisible(filters * alpha)
        for i in range(repeats):
            layers.append(Block(inputs, out, stride if i == 0 else 1, expansion))
            inputs = out
    layers += [nn.Conv2d(inputs, 1280, 1, bias=False), bn(1280), nn.ReLU6(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers.append(nn.Linear(1280, classes))
    return nn.Sequential(*layers)


def mobilenet(torch, spec):
    torch.manual_seed(2)
    model = mobilenet_v2(torch).eval()
    parameters = sum(p.numel() for p in model.parameters())
    images = torch.rand(spec["images"], 3, 96, 96) * 2 - 1
    rates = {}
    with torch.no_grad():
        for batch in spec["batches"]:
            count = spec["images"] if batch > 1 else min(spec["images"], 64)
            model(images[:batch])
            best = float("inf")
            for _ in range(spec.get("rounds", 3)):
                t0 = time.perf_counter()
                for start in range(0, count, batch):
                    model(images[start : start + batch])
                best = min(best, time.perf_counter() - t0)
            rates[str(batch)] = count / best
    return {"imagesPerSecond": rates, "parameters": parameters}


def main():
    import torch

    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec["threads"])
    result = epoch(torch, spec) if spec["mode"] == "epoch" else mobilenet(torch, spec)
    result.update({"torch": torch.__version__, "threads": torch.get_num_threads(), "config": config_lines(torch)})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
