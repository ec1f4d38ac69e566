"""Fine-tune a blank spaCy NER on hand-labelled spans; one annotation has overlapping spans."""
import random

import spacy
from spacy.training import Example

TRAIN = [
    ("Apple is opening an office in Berlin", [(0, 5, "ORG"), (30, 36, "GPE")]),
    ("Maria Lopez joined Google last year", [(0, 11, "PERSON"), (19, 25, "ORG")]),
    ("Flights from Paris to Tokyo were cancelled", [(13, 18, "GPE"), (22, 27, "GPE")]),
    ("New York Times reported on Amazon", [(0, 14, "ORG"), (0, 8, "GPE"), (27, 33, "ORG")]),
    ("Sundar Pichai spoke in London", [(0, 13, "PERSON"), (23, 29, "GPE")]),
]
nlp = spacy.blank("en")
ner = nlp.add_pipe("ner")
for _, ents in TRAIN:
    for _, _, label in ents:
        ner.add_label(label)
optimizer = nlp.initialize()
for epoch in range(20):
    random.shuffle(TRAIN)
    losses = {}
    for text, ents in TRAIN:
        example = Example.from_dict(nlp.make_doc(text), {"entities": ents})
        nlp.update([example], sgd=optimizer, drop=0.2, losses=losses)
    print(f"epoch {epoch:2d} losses {losses}")
