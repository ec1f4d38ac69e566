"""Streams pre-tokenized shards saved with torch.save; one shard was truncated by an interrupted
copy. Progress is shown with tqdm over the shards."""
import os

import torch
from torch import nn
from tqdm import tqdm

os.makedirs("shards", exist_ok=True)
g = torch.Generator().manual_seed(0)
for i in range(12):
    torch.save({"x": torch.randn(256, 32, generator=g), "y": torch.randint(0, 4, (256,), generator=g)},
               f"shards/shard_{i:03d}.pt")
with open("shards/shard_007.pt", "r+b") as f:  # interrupted copy
    f.truncate(os.path.getsize("shards/shard_007.pt") // 10)

model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
files = sorted(os.listdir("shards"))
for epoch in range(2):
    bar = tqdm(files, desc=f"epoch {epoch}", unit="shard")
    for name in bar:
        shard = torch.load(os.path.join("shards", name))
        for i in range(0, 256, 32):
            loss = nn.functional.cross_entropy(model(shard["x"][i:i + 32]), shard["y"][i:i + 32])
            opt.zero_grad()
            loss.backward()
            opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}", shard=name)
