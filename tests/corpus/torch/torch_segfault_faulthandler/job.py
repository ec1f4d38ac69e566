"""Training loop that logs a native library's status string through ctypes every few steps;
the library returns a NULL pointer once its handle has been freed."""
import ctypes

import torch
from torch import nn

libc = ctypes.CDLL(None)
status_ptrs = {0: ctypes.cast(ctypes.c_char_p(b"sensor-ok"), ctypes.c_void_p).value}

model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for step in range(60):
    x = torch.randn(64, 10)
    loss = nn.functional.mse_loss(model(x), x.mean(dim=1, keepdim=True))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 10 == 0:
        handle = status_ptrs.get(step // 30, 0)  # handle freed after step 30 -> NULL
        status = ctypes.string_at(handle).decode()
        print(f"step {step} loss={loss.item():.4f} device_status={status}")
