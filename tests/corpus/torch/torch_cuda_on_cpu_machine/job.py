"""Training script written for a GPU box, launched on a CPU-only machine."""
import torch
from torch import nn

device = "cuda"
print(f"torch {torch.__version__}, training on {device}")
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 1)).to(device)
opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
for step in range(100):
    x = torch.randn(128, 16, device=device)
    y = x.sum(dim=1, keepdim=True)
    loss = nn.functional.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 20 == 0:
        print(f"step {step} loss {loss.item():.4f}")
