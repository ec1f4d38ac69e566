"""Train a classifier on churn.csv; the export capitalised the target column."""
import os
import tempfile
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(0)
workdir = tempfile.TemporaryDirectory()
tmp = os.path.join(workdir.name, "churn.csv")
pd.DataFrame({
    "tenure": rng.integers(1, 72, 200),
    "monthly": rng.normal(65, 20, 200).round(2),
    "Churned": rng.integers(0, 2, 200),
}).to_csv(tmp, index=False)

df = pd.read_csv(tmp)
print(f"loaded {len(df)} rows, columns={list(df.columns)}")
y = df["churned"]
X = df.drop(columns=["churned"])
clf = LogisticRegression().fit(X, y)
print("accuracy:", clf.score(X, y))
