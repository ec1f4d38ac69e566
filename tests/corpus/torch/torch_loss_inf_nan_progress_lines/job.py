"""Linear regression on unscaled features with a learning rate that is far too high."""
import torch
from torch import nn

torch.manual_seed(0)
X = torch.randn(4096, 6) * torch.tensor([1.0, 10.0, 100.0, 1000.0, 1.0, 5.0])  # unscaled
w_true = torch.randn(6, 1)
y = X @ w_true + 0.1 * torch.randn(4096, 1)

model = nn.Linear(6, 1)
lr = 1.1e-6
opt = torch.optim.SGD(model.parameters(), lr=lr)
loss_fn = nn.MSELoss()

for epoch in range(1, 21):
    perm = torch.randperm(len(X))
    running = 0.0
    for i in range(0, len(X), 256):
        idx = perm[i:i + 256]
        opt.zero_grad()
        loss = loss_fn(model(X[idx]), y[idx])
        loss.backward()
        opt.step()
        running += loss.item()
    print(f"epoch {epoch} loss={running / 16:.4g} lr={lr}")
torch.save(model.state_dict(), "linreg.pt")
print("saved linreg.pt")
