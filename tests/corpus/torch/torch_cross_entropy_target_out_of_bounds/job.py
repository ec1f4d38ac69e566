"""10-class classifier; the label file uses classes 1..10 instead of 0..9."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
np.savetxt("labels.csv", rng.integers(1, 11, size=600), fmt="%d")  # annotation tool's 1-based ids
features = rng.normal(size=(600, 20)).astype(np.float32)
labels = np.loadtxt("labels.csv", dtype=np.int64)
print(f"features {features.shape}, labels {labels.shape}, classes {sorted(set(labels.tolist()))}")

loader = DataLoader(TensorDataset(torch.from_numpy(features), torch.from_numpy(labels)),
                    batch_size=64, shuffle=True)
model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()
for epoch in range(5):
    for x, y in loader:
        opt.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        opt.step()
    print(f"epoch {epoch} loss {loss.item():.4f}")
