"""Word2Vec built empty and trained directly, forgetting build_vocab()."""
import logging

from gensim.models import Word2Vec
from gensim.test.utils import common_texts

logging.basicConfig(format="%(asctime)s : %(levelname)s : %(message)s", level=logging.INFO)

model = Word2Vec(vector_size=32, window=3, min_count=1, workers=2)
model.train(common_texts, total_examples=len(common_texts), epochs=10)
model.wv.save("vectors.kv")
