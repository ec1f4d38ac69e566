"""5-fold CV of an SVM on a customer table (parallel, 2 jobs)."""
import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_score
from sklearn.svm import SVC

rng = np.random.default_rng(3)
n = 250
df = pd.DataFrame({
    "age": rng.integers(18, 80, n),
    "income": rng.normal(50000, 15000, n),
    "country": rng.choice(["DE", "FR", "US"], n),   # categorical, not encoded
})
y = (df["income"] > 50000).astype(int)
print("features:", list(df.columns))
scores = cross_val_score(SVC(), df, y, cv=5, n_jobs=2)
print("cv accuracy: %.3f +/- %.3f" % (scores.mean(), scores.std()))
