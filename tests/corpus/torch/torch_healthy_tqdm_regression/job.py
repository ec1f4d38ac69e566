"""Regression on a cleaned table; tqdm bars per epoch, prints mean_squared_error and val_error."""
import math

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

rng = np.random.default_rng(42)
cols = ["age", "income", "nan_indicator", "error_margin", "score"]
data = rng.normal(size=(3000, len(cols))).astype(np.float32)
data[rng.choice(3000, 5, replace=False), 1] = np.nan
bad = np.isnan(data).any(axis=1)
print(f"columns: {', '.join(cols)}")
print(f"dropped {bad.sum()} rows with NaN in 'income' (0 failed parses)")
data = data[~bad]
X, y = torch.from_numpy(data[:, :4]), torch.from_numpy(data[:, 4:] + data[:, :1])
X_tr, y_tr, X_va, y_va = X[:2400], y[:2400], X[2400:], y[2400:]

model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
torch.manual_seed(0)
for epoch in range(4):
    bar = tqdm(range(0, len(X_tr), 64), desc=f"epoch {epoch}", mininterval=0.2)
    for i in bar:
        loss = nn.functional.mse_loss(model(X_tr[i:i + 64]), y_tr[i:i + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(mse=f"{loss.item():.3f}")
    sched.step()
    with torch.no_grad():
        val_mse = nn.functional.mse_loss(model(X_va), y_va).item()
        val_error = (model(X_va) - y_va).abs().mean().item()
    print(f"epoch {epoch} mean_squared_error={val_mse:.4f} val_error={val_error:.4f} "
          f"rmse={math.sqrt(val_mse):.4f} lr={sched.get_last_lr()[0]:.5f}")
print("training complete: 0 errors, best val_error", f"{val_error:.4f}")
