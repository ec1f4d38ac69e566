"""Binary classifier with a 2-logit head; labels read as floats from a CSV and fed to NLLLoss."""
import csv
import random

import torch
from torch import nn

random.seed(0)
with open("train.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["x1", "x2", "x3", "label"])
    for _ in range(300):
        a, b, c = (random.gauss(0, 1) for _ in range(3))
        w.writerow([f"{a:.4f}", f"{b:.4f}", f"{c:.4f}", "1.0" if a + b > 0 else "0.0"])

with open("train.csv") as f:
    rows = list(csv.DictReader(f))
X = torch.tensor([[float(r["x1"]), float(r["x2"]), float(r["x3"])] for r in rows])
y = torch.tensor([float(r["label"]) for r in rows])
print(f"X {tuple(X.shape)} {X.dtype}, y {tuple(y.shape)} {y.dtype}")

model = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2), nn.LogSoftmax(dim=1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.NLLLoss()
for epoch in range(20):
    opt.zero_grad()
    loss = criterion(model(X), y)
    loss.backward()
    opt.step()
    print(f"epoch {epoch} loss {loss.item():.4f}")
