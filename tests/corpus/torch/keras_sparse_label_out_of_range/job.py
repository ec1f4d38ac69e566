"""10-class Keras classifier; the last part of the label array uses 1-based class ids."""
import numpy as np
import keras

rng = np.random.default_rng(2)
x = rng.normal(size=(3200, 16)).astype("float32")
y = rng.integers(0, 10, size=3200)
y[2000:] += 1  # labels appended from a second annotation batch with 1-based ids

model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(64, activation="relu"),
                          keras.layers.Dense(10)])
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
model.fit(x, y, epochs=2, batch_size=64, shuffle=False)
