"""Lightning script configured for a GPU node, launched on a CPU-only machine."""
import torch
import lightning as L
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Model(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(32, 2)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


ds = TensorDataset(torch.randn(256, 32), torch.randint(0, 2, (256,)))
trainer = L.Trainer(accelerator="gpu", devices=1, precision="16-mixed", max_epochs=5)
trainer.fit(Model(), DataLoader(ds, batch_size=32))
