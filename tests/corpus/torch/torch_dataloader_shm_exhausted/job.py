"""Image batches produced by DataLoader workers travel through shared memory; the container's
/dev/shm is tiny (run with a 2 MB /dev/shm)."""
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class RandomImages(Dataset):
    def __len__(self):
        return 256

    def __getitem__(self, i):
        return torch.rand(3, 128, 128), i % 10


loader = DataLoader(RandomImages(), batch_size=32, num_workers=2)
model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(2):
    for step, (x, y) in enumerate(loader):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        print(f"epoch {epoch} step {step} loss={loss.item():.4f}")
