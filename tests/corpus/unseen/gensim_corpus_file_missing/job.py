"""FastText trained from a preprocessed corpus file that the preprocessing step never wrote."""
import logging

from gensim.models import FastText
from gensim.models.word2vec import LineSentence

logging.basicConfig(format="%(asctime)s : %(levelname)s : %(message)s", level=logging.INFO)

corpus = LineSentence("data/corpus_tokenized.txt")
model = FastText(vector_size=64, window=5, min_count=3, workers=2)
model.build_vocab(corpus_iterable=corpus)
model.train(corpus_iterable=corpus, total_examples=model.corpus_count, epochs=5)
model.save("fasttext.model")
