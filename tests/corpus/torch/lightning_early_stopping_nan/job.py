"""Regression with Lightning and EarlyStopping on val_loss; targets are in raw units (1e4 scale)
and the learning rate is too high, so training diverges."""
import torch
import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, TQDMProgressBar
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

L.seed_everything(0)
X = torch.randn(800, 8)
y = (X @ torch.randn(8, 1)) * 1e4  # house prices, not normalised
train = TensorDataset(X[:640], y[:640])
val = TensorDataset(X[640:], y[640:])


class Regressor(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 1))

    def training_step(self, batch, batch_idx):
        x, t = batch
        loss = nn.functional.mse_loss(self.net(x), t)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, t = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), t), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=2e-5, momentum=0.9)


trainer = L.Trainer(max_epochs=20, callbacks=[EarlyStopping(monitor="val_loss", patience=5, verbose=True), TQDMProgressBar()],
                    enable_checkpointing=False, logger=False)
trainer.fit(Regressor(), DataLoader(train, batch_size=64, shuffle=True), DataLoader(val, batch_size=160))
print("training finished at epoch", trainer.current_epoch)
