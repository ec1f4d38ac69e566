"""Train word2vec on gensim's bundled Lee corpus, with INFO logging as the tutorial shows."""
import logging
import os

import gensim
from gensim.models import Word2Vec
from gensim.test.utils import datapath
from gensim.utils import simple_preprocess

logging.basicConfig(format="%(asctime)s : %(levelname)s : %(message)s", level=logging.INFO)

path = datapath("lee_background.cor")
sentences = [simple_preprocess(line) for line in open(path, encoding="utf-8")]
sentences = [s for s in sentences if s]
print(f"{len(sentences)} documents, 0 failed to parse")

model = Word2Vec(sentences=sentences, vector_size=50, window=5, min_count=2, workers=2, epochs=5, seed=42,
                 compute_loss=True)
print("training loss:", model.get_latest_training_loss())
for w in ("error", "government", "police"):
    if w in model.wv:
        print(w, "->", [t for t, _ in model.wv.most_similar(w, topn=5)])
model.save(os.path.join(os.path.dirname(os.path.abspath(__file__)), "w2v.model"))
os.remove(os.path.join(os.path.dirname(os.path.abspath(__file__)), "w2v.model"))
