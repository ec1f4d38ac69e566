"""Lightning regression with the tqdm progress bar, ModelCheckpoint on val_error and a verbose
EarlyStopping that never triggers; then reloads the best checkpoint and tests it."""
import torch
import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

L.seed_everything(3)
X = torch.randn(1000, 6)
y = X[:, :1] * 2 - X[:, 1:2] + 0.1 * torch.randn(1000, 1)
ds = lambda a, b: DataLoader(TensorDataset(X[a:b], y[a:b]), batch_size=100)


class Reg(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))

    def _step(self, batch, stage):
        x, t = batch
        pred = self.net(x)
        self.log(f"{stage}_loss", nn.functional.mse_loss(pred, t), prog_bar=True)
        self.log(f"{stage}_error", (pred - t).abs().mean(), prog_bar=True)
        return nn.functional.mse_loss(pred, t)

    def training_step(self, batch, batch_idx):
        return self._step(batch, "train")

    def validation_step(self, batch, batch_idx):
        self._step(batch, "val")

    def test_step(self, batch, batch_idx):
        self._step(batch, "test")

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=2e-2)


ckpt = ModelCheckpoint(monitor="val_error", filename="best-{epoch}-{val_error:.3f}")
trainer = L.Trainer(max_epochs=4, callbacks=[TQDMProgressBar(), ckpt,
                                             EarlyStopping(monitor="val_error", patience=3, verbose=True)],
                    log_every_n_steps=2)
trainer.fit(Reg(), ds(0, 700), ds(700, 850))
trainer.test(ckpt_path="best", dataloaders=ds(850, 1000))
