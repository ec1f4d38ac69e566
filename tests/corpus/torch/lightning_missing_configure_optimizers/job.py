"""LightningModule that creates its optimizer in __init__ but never defines configure_optimizers."""
import torch
import lightning as L
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class AutoEncoder(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 16), nn.ReLU())
        self.decoder = nn.Linear(16, 64)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)

    def training_step(self, batch, batch_idx):
        (x,) = batch
        loss = nn.functional.mse_loss(self.decoder(self.encoder(x)), x)
        self.log("recon_loss", loss, prog_bar=True)
        return loss


trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False)
trainer.fit(AutoEncoder(), DataLoader(TensorDataset(torch.randn(512, 64)), batch_size=64))
