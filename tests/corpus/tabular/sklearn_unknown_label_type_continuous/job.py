"""Classify house prices into 'expensive' or not... but the target column is the raw price."""
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

rng = np.random.default_rng(8)
n = 400
df = pd.DataFrame({"sqft": rng.normal(1500, 300, n), "rooms": rng.integers(1, 6, n)})
df["price"] = 120 * df["sqft"] + 9000 * df["rooms"] + rng.normal(0, 10000, n)
df["expensive"] = df["price"] > df["price"].median()

X_tr, X_te, y_tr, y_te = train_test_split(df[["sqft", "rooms"]], df["price"], random_state=0)
print("train rows:", len(X_tr), "target dtype:", y_tr.dtype)
clf = RandomForestClassifier(n_estimators=50, random_state=0)
clf.fit(X_tr, y_tr)
print("accuracy:", clf.score(X_te, y_te))
