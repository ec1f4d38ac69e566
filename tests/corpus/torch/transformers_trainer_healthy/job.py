"""Fine-tunes a tiny BERT (built from a config, no download) on a synthetic sentiment task with
the Hugging Face Trainer; reports eval_loss and an error_rate metric every epoch."""
import numpy as np
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments


class ToyReviews(torch.utils.data.Dataset):
    """Token 7 means 'good', token 9 means 'bad'; label is whichever appears more often."""

    def __init__(self, n, seed):
        g = np.random.default_rng(seed)
        self.ids = g.integers(10, 200, size=(n, 24))
        self.labels = g.integers(0, 2, size=n)
        for i, lab in enumerate(self.labels):
            self.ids[i, g.choice(23, 4, replace=False) + 1] = 7 if lab else 9
        self.ids[:, 0] = 101  # [CLS]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": torch.tensor(self.ids[i]), "attention_mask": torch.ones(24, dtype=torch.long),
                "labels": torch.tensor(int(self.labels[i]))}


def compute_metrics(p):
    preds = p.predictions.argmax(-1)
    return {"accuracy": float((preds == p.label_ids).mean()), "error_rate": float((preds != p.label_ids).mean())}


config = BertConfig(vocab_size=256, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                    intermediate_size=64, max_position_embeddings=64, num_labels=2)
model = BertForSequenceClassification(config)
args = TrainingArguments(output_dir="out", num_train_epochs=3, per_device_train_batch_size=32,
                         per_device_eval_batch_size=64, learning_rate=3e-3, logging_steps=5,
                         eval_strategy="epoch", save_strategy="no", report_to="none", seed=0)
trainer = Trainer(model=model, args=args, train_dataset=ToyReviews(640, 0), eval_dataset=ToyReviews(128, 1),
                  compute_metrics=compute_metrics)
trainer.train()
print(trainer.evaluate())
