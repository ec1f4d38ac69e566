"""Trains on JSON-lines records; a few records were exported without their label field."""
import json
import os

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

rng = torch.Generator().manual_seed(0)
with open("train.jsonl", "w") as f:
    for i in range(512):
        rec = {"id": i, "features": torch.randn(8, generator=rng).tolist(), "label": i % 3}
        if i in (37, 301):
            del rec["label"]  # upstream export bug
        f.write(json.dumps(rec) + "\n")


class JsonlDataset(Dataset):
    def __init__(self, path):
        with open(path) as f:
            self.records = [json.loads(line) for line in f]

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        r = self.records[i]
        return torch.tensor(r["features"]), torch.tensor(r["label"])


ds = JsonlDataset("train.jsonl")
print(f"loaded {len(ds)} records from train.jsonl")
loader = DataLoader(ds, batch_size=16, shuffle=False, num_workers=2)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 3))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)

for epoch in range(2):
    total = 0.0
    for step, (x, y) in enumerate(loader):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        total += loss.item()
        if step % 10 == 0:
            print(f"epoch {epoch} step {step} loss={loss.item():.4f}")
    print(f"epoch {epoch} mean loss {total / (step + 1):.4f}")
