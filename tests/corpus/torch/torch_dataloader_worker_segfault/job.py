"""Dataset that reads samples through a native decoder via ctypes; a bad record hands the
decoder a NULL pointer and the worker process segfaults."""
import ctypes

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class NativeBuffers(Dataset):
    def __init__(self, n):
        self.bufs = [ctypes.create_string_buffer(bytes(range(1, 33))) for _ in range(n)]
        self.ptrs = [ctypes.addressof(b) for b in self.bufs]
        self.ptrs[21] = 0  # record whose buffer was never allocated

    def __len__(self):
        return len(self.ptrs)

    def __getitem__(self, i):
        raw = ctypes.string_at(self.ptrs[i])  # NUL-terminated record
        x = torch.frombuffer(bytearray(raw), dtype=torch.uint8).float() / 255
        return x, i % 2


loader = DataLoader(NativeBuffers(64), batch_size=8, num_workers=2)
model = nn.Linear(32, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for step, (x, y) in enumerate(loader):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        print(f"epoch {epoch} step {step} loss={loss.item():.4f}")
