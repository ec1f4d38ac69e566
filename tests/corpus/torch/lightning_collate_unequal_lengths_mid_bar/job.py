"""Sequence classifier over token-id sequences; most sequences are padded to 24 tokens but a few
were not, and default_collate cannot stack them. Fails mid-epoch under the progress bar."""
import torch
import lightning as L
from lightning.pytorch.callbacks import TQDMProgressBar
from torch import nn
from torch.utils.data import DataLoader, Dataset


class TokenDataset(Dataset):
    def __init__(self):
        g = torch.Generator().manual_seed(3)
        self.seqs = [torch.randint(1, 500, (24,), generator=g) for _ in range(400)]
        self.seqs[173] = self.seqs[173][:19]  # unpadded record
        self.labels = torch.randint(0, 2, (400,), generator=g)

    def __len__(self):
        return len(self.seqs)

    def __getitem__(self, i):
        return self.seqs[i], self.labels[i]


class SeqClassifier(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.emb = nn.EmbeddingBag(500, 32)
        self.head = nn.Linear(32, 2)

    def training_step(self, batch, batch_idx):
        tokens, labels = batch
        loss = nn.functional.cross_entropy(self.head(self.emb(tokens)), labels)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, callbacks=[TQDMProgressBar()])
trainer.fit(SeqClassifier(), DataLoader(TokenDataset(), batch_size=16))
