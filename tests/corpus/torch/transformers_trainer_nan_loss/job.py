"""Tiny BERT classifier (from a config, no download) trained with the Hugging Face Trainer; the
learning rate was typed as 5e5 instead of 5e-5."""
import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments


class Tickets(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = np.random.default_rng(seed)
        self.ids = g.integers(10, 200, size=(n, 16))
        self.labels = (self.ids[:, 1] > 100).astype(np.int64)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": torch.tensor(self.ids[i]), "labels": torch.tensor(self.labels[i])}


config = BertConfig(vocab_size=256, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=64, num_labels=2)
args = TrainingArguments(output_dir="out", num_train_epochs=2, per_device_train_batch_size=16,
                         learning_rate=5e5, logging_steps=4, eval_strategy="epoch",
                         save_strategy="no", report_to="none", seed=0)
trainer = Trainer(model=BertForSequenceClassification(config), args=args,
                  train_dataset=Tickets(256, 0), eval_dataset=Tickets(64, 1))
trainer.train()
