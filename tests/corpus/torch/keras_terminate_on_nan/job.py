"""Keras regression on raw (unscaled) targets with SGD and a high learning rate; TerminateOnNaN
is in the callbacks."""
import numpy as np
import keras

rng = np.random.default_rng(0)
x = rng.normal(size=(2000, 8)).astype("float32")
y = (x @ rng.normal(size=(8, 1)) * 5e3).astype("float32")  # sale price in dollars

model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), loss="mse", metrics=["mae"])
model.fit(x, y, epochs=5, batch_size=64, validation_split=0.2, callbacks=[keras.callbacks.TerminateOnNaN()])
print("fit returned")
