"""Dataset that decodes large 'volumes' in the DataLoader workers; one sample is huge and the
worker outgrows the job's memory limit (run under a cgroup v1 memory limit)."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class VolumeDataset(Dataset):
    # (depth, height, width) of each scan; sample 5 is a mis-sized full-resolution scan
    shapes = [(16, 64, 64)] * 5 + [(1024, 512, 512)] + [(16, 64, 64)] * 26

    def __len__(self):
        return len(self.shapes)

    def __getitem__(self, i):
        vol = np.ones(self.shapes[i], dtype=np.float32)  # "decode" the scan
        vol = (vol - vol.mean()) / (vol.std() + 1e-6)
        return torch.from_numpy(vol[:16, :64, :64].copy()), i % 2


loader = DataLoader(VolumeDataset(), batch_size=2, num_workers=2)
model = nn.Sequential(nn.Flatten(), nn.Linear(16 * 64 * 64, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step, (x, y) in enumerate(loader):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    print(f"step {step} loss={loss.item():.4f}")
print("done")
