"""PyTorch reference implementations of the low-ts models torchvision lacks, with the names and
structure of the code the LOW paper's setups come from, so that a low-ts state dict loads into them
with load_state_dict(strict=True):

  LeNet5       the LOW authors' lenet.py (conv1 pads 28x28 to 32x32)
  WideResNet   github.com/xternalz/WideResNet-pytorch (wideresnet.py)
  DenseNet3    github.com/andreasveit/densenet-pytorch (densenet.py), DenseNet-BC with bottleneck=True

Used by test/pytorch-interop.test.ts, `low bench engine --model` and `low bench dist`. Run with Debian's /usr/bin/python3.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, input_size=28):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=(32 - input_size) // 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class WideBasicBlock(nn.Module):
    def __init__(self, in_planes, out_planes, stride, drop_rate=0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.droprate = drop_rate
        self.equalInOut = in_planes == out_planes
        self.convShortcut = None if self.equalInOut else nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, padding=0, bias=False)

    def forward(self, x):
        if not self.equalInOut:
            x = self.relu1(self.bn1(x))
            out = x
        else:
            out = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(out)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, training=self.training)
        out = self.conv2(out)
        return torch.add(x if self.equalInOut else self.convShortcut(x), out)


class NetworkBlock(nn.Module):
    def __init__(self, nb_layers, in_planes, out_planes, stride, drop_rate=0.0):
        super().__init__()
        self.layer = nn.Sequential(
            *[WideBasicBlock(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1, drop_rate) for i in range(nb_layers)]
        )

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, depth=28, num_classes=10, widen_factor=2, drop_rate=0.0, in_channels=3):
        super().__init__()
        ch = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        assert (depth - 4) % 6 == 0
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(in_channels, ch[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.block1 = NetworkBlock(n, ch[0], ch[1], 1, drop_rate)
        self.block2 = NetworkBlock(n, ch[1], ch[2], 2, drop_rate)
        self.block3 = NetworkBlock(n, ch[2], ch[3], 2, drop_rate)
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(ch[3], num_classes)
        self.nChannels = ch[3]

    def forward(self, x):
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        out = self.relu(self.bn1(out))
        # xternalz pools with a fixed 8x8 window (32x32 inputs); adaptive pooling is the same there and takes other sizes.
        out = F.adaptive_avg_pool2d(out, 1)
        return self.fc(out.view(-1, self.nChannels))


class BottleneckBlock(nn.Module):
    def __init__(self, in_planes, out_planes, drop_rate=0.0):
        super().__init__()
        inter_planes = out_planes * 4
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, inter_planes, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn2 = nn.BatchNorm2d(inter_planes)
        self.conv2 = nn.Conv2d(inter_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.droprate = drop_rate

    def forward(self, x):
        out = self.conv1(self.relu(self.bn1(x)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, inplace=False, training=self.training)
        out = self.conv2(self.relu(self.bn2(out)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, inplace=False, training=self.training)
        return torch.cat([x, out], 1)


class TransitionBlock(nn.Module):
    def __init__(self, in_planes, out_planes, drop_rate=0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=1, padding=0, bias=False)
        self.droprate = drop_rate

    def forward(self, x):
        out = self.conv1(self.relu(self.bn1(x)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, inplace=False, training=self.training)
        return F.avg_pool2d(out, 2)


class DenseBlock(nn.Module):
    def __init__(self, nb_layers, in_planes, growth_rate, drop_rate=0.0):
        super().__init__()
        self.layer = nn.Sequential(*[BottleneckBlock(in_planes + i * growth_rate, growth_rate, drop_rate) for i in range(nb_layers)])

    def forward(self, x):
        return self.layer(x)


class DenseNet3(nn.Module):
    def __init__(self, depth=100, num_classes=10, growth_rate=12, reduction=0.5, drop_rate=0.0, in_channels=3):
        super().__init__()
        in_planes = 2 * growth_rate
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(in_channels, in_planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.block1 = DenseBlock(n, in_planes, growth_rate, drop_rate)
        in_planes = in_planes + n * growth_rate
        self.trans1 = TransitionBlock(in_planes, int(math.floor(in_planes * reduction)), drop_rate)
        in_planes = int(math.floor(in_planes * reduction))
        self.block2 = DenseBlock(n, in_planes, growth_rate, drop_rate)
        in_planes = in_planes + n * growth_rate
        self.trans2 = TransitionBlock(in_planes, int(math.floor(in_planes * reduction)), drop_rate)
        in_planes = int(math.floor(in_planes * reduction))
        self.block3 = DenseBlock(n, in_planes, growth_rate, drop_rate)
        in_planes = in_planes + n * growth_rate
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(in_planes, num_classes)
        self.in_planes = in_planes

    def forward(self, x):
        out = self.trans1(self.block1(self.conv1(x)))
        out = self.trans2(self.block2(out))
        out = self.block3(out)
        out = self.relu(self.bn1(out))
        # andreasveit pools with a fixed 8x8 window (32x32 inputs); adaptive pooling is the same there.
        out = F.adaptive_avg_pool2d(out, 1)
        return self.fc(out.view(-1, self.in_planes))


def zoo_model(name, classes, size):
    """The PyTorch model of `low bench`'s model NAME and its input channels: torchvision's where it
    has the architecture, the ports above otherwise."""
    if name == "lenet5":
        return LeNet5(classes, 1, size), 1
    if name == "wrn-28-2":
        return WideResNet(28, num_classes=classes, widen_factor=2), 3
    if name == "densenet-bc":
        return DenseNet3(100, num_classes=classes, growth_rate=12), 3
    if name in ("resnet18", "densenet161"):
        import torchvision

        return getattr(torchvision.models, name)(num_classes=classes), 3
    raise SystemExit(f"unknown model {name}")
