"""Regression from a numpy array (float64 by default) into a float32 model."""
import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(1)
X = rng.normal(size=(500, 12))
y = X @ rng.normal(size=12) + rng.normal(scale=0.1, size=500)

X_t = torch.from_numpy(X)
y_t = torch.from_numpy(y).unsqueeze(1)
model = nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(50):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X_t), y_t)
    loss.backward()
    opt.step()
    if epoch % 10 == 0:
        print(f"epoch {epoch} mse {loss.item():.4f}")
