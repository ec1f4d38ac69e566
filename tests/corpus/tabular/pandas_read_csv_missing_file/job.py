"""Train a RandomForest on data/train.csv (the data sync step did not run)."""
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

DATA = "data/train.csv"
print("loading", DATA)
df = pd.read_csv(DATA)
X, y = df.drop(columns="label"), df["label"]
clf = RandomForestClassifier(n_estimators=100).fit(X, y)
print("train accuracy", clf.score(X, y))
