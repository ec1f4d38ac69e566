"""Classifier whose loss computes log(softmax(...)) by hand instead of log_softmax; with large
logits softmax underflows to 0. The Trainer runs with detect_anomaly=True."""
import torch
import lightning as L
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

L.seed_everything(1)
X = torch.randn(512, 16) * 30
y = torch.randint(0, 5, (512,))


class Classifier(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 5))

    def training_step(self, batch, batch_idx):
        x, t = batch
        probs = torch.softmax(self.net(x), dim=1)
        loss = -torch.log(probs[torch.arange(len(t)), t]).mean()
        self.log("loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5)


trainer = L.Trainer(max_epochs=3, detect_anomaly=True, logger=False, enable_checkpointing=False)
trainer.fit(Classifier(), DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True))
