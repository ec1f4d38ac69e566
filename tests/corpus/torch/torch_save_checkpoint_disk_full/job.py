"""Trains a small model and checkpoints every epoch to /mnt/ckpt (a nearly full volume)."""
import os

import torch
from torch import nn

os.makedirs("/mnt/ckpt/run1", exist_ok=True)
model = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(10):
    for _ in range(20):
        x = torch.randn(32, 256)
        y = torch.randint(0, 10, (32,))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    path = f"/mnt/ckpt/run1/epoch{epoch}.pt"
    torch.save({"epoch": epoch, "model": model.state_dict(), "optim": opt.state_dict()}, path)
    print(f"epoch {epoch} loss {loss.item():.4f} saved {path} ({os.path.getsize(path) / 1024:.0f} KiB)")
