"""Writes checkpoints atomically (temp file + os.replace) to /mnt/ckpt, a small volume that fills
up after a few epochs."""
import os
import tempfile

import torch
from torch import nn


def save_atomic(obj, path):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


os.makedirs("/mnt/ckpt/run2", exist_ok=True)
model = nn.Sequential(nn.Embedding(2000, 64), nn.Flatten(), nn.Linear(64 * 8, 2))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
for epoch in range(10):
    for _ in range(10):
        x = torch.randint(0, 2000, (16, 8))
        y = torch.randint(0, 2, (16,))
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_atomic({"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict()},
                f"/mnt/ckpt/run2/epoch_{epoch:02d}.pt")
    print(f"epoch {epoch}: train_loss={loss.item():.4f} checkpoint written")
