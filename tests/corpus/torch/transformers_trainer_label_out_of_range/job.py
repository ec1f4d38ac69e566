"""Tiny BERT classifier (from a config, no download) with num_labels=2, but the dataset was
relabelled to three classes (neutral added) and nobody updated the config."""
import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments


class Reviews(torch.utils.data.Dataset):
    def __init__(self, n, seed):
        g = np.random.default_rng(seed)
        self.ids = g.integers(10, 200, size=(n, 16))
        self.labels = g.choice([0, 1, 2], size=n, p=[0.48, 0.48, 0.04])  # 2 = "neutral"

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": torch.tensor(self.ids[i]), "labels": torch.tensor(int(self.labels[i]))}


config = BertConfig(vocab_size=256, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=64, num_labels=2)
args = TrainingArguments(output_dir="out", num_train_epochs=2, per_device_train_batch_size=8,
                         logging_steps=5, save_strategy="no", report_to="none", seed=0)
trainer = Trainer(model=BertForSequenceClassification(config), args=args, train_dataset=Reviews(400, 0))
trainer.train()
