"""Keras classifier trained on 10 features; the validation file was exported with two extra
columns, so validation fails after the first training epoch."""
import numpy as np
import keras

rng = np.random.default_rng(1)
x_train = rng.normal(size=(1600, 10)).astype("float32")
y_train = (x_train[:, 0] > 0).astype("int32")
x_val = rng.normal(size=(400, 12)).astype("float32")  # extra 'row_id' and 'timestamp' columns
y_val = (x_val[:, 0] > 0).astype("int32")

model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(32, activation="relu"),
                          keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=3, batch_size=32, validation_data=(x_val, y_val))
