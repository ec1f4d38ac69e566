"""Doc2Vec with an oversized vocabulary x vector_size on a memory-capped job (ulimit -v)."""
import logging
import random

from gensim.models.doc2vec import Doc2Vec, TaggedDocument

logging.basicConfig(format="%(asctime)s : %(levelname)s : %(message)s", level=logging.INFO)
random.seed(0)

vocab = [f"tok{i}" for i in range(200_000)]
docs = [TaggedDocument([random.choice(vocab) for _ in range(30)], [i]) for i in range(60_000)]
model = Doc2Vec(vector_size=1000, min_count=1, epochs=3, workers=2)
model.build_vocab(docs)
model.train(docs, total_examples=model.corpus_count, epochs=model.epochs)
