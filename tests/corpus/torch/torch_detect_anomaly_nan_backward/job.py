"""Two-layer regressor on unscaled sensor readings with a large learning rate; the run is wrapped
in torch.autograd.detect_anomaly() to find where the NaN comes from."""
import torch
from torch import nn

torch.manual_seed(0)
X = torch.randn(2048, 5) * torch.tensor([1.0, 1.0, 20.0, 300.0, 5.0])  # raw sensor units
y = X @ torch.tensor([[0.5], [-1.0], [0.2], [0.01], [1.5]]) + torch.randn(2048, 1)

model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.0005)

with torch.autograd.detect_anomaly():
    for epoch in range(20):
        for i in range(0, 2048, 128):
            loss = nn.functional.mse_loss(model(X[i:i + 128]), y[i:i + 128])
            opt.zero_grad()
            loss.backward()
            opt.step()
            print(f"epoch {epoch} batch {i // 128} mse={loss.item():.4g}")
