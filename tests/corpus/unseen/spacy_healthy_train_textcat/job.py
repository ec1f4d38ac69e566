"""Train a tiny spaCy text classifier with `spacy train` from a generated config."""
import os
import random
import shutil
import subprocess
import sys

import spacy
from spacy.tokens import DocBin

random.seed(0)
HERE = os.path.dirname(os.path.abspath(__file__))
work = os.path.join(HERE, "run")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

POS = ["great product, works fine", "no error so far, love it", "fast delivery and nice quality",
       "zero failed units, recommend", "excellent support, solved quickly"]
NEG = ["the update failed twice", "it throws an error on start", "broken after one day",
       "refund took weeks, terrible", "battery is nan percent, useless"]
nlp = spacy.blank("en")
for name, n in (("train", 80), ("dev", 20)):
    db = DocBin()
    for _ in range(n):
        pos = random.random() < 0.5
        doc = nlp.make_doc(random.choice(POS if pos else NEG))
        doc.cats = {"POSITIVE": float(pos), "NEGATIVE": float(not pos)}
        db.add(doc)
    db.to_disk(os.path.join(work, f"{name}.spacy"))

cfg = os.path.join(work, "config.cfg")
subprocess.run([sys.executable, "-m", "spacy", "init", "config", cfg, "--lang", "en", "--pipeline", "textcat",
                "--optimize", "efficiency", "--force"], check=True)
subprocess.run([sys.executable, "-m", "spacy", "train", cfg, "--output", os.path.join(work, "out"),
                "--paths.train", os.path.join(work, "train.spacy"), "--paths.dev", os.path.join(work, "dev.spacy"),
                "--training.max_steps", "200", "--training.eval_frequency", "50"], check=True)
best = spacy.load(os.path.join(work, "out", "model-best"))
print(best("the install failed with an error").cats)
shutil.rmtree(work)
