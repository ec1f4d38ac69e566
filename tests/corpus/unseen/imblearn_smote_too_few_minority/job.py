"""Rare-disease classifier: oversample the positive class with SMOTE before fitting."""
import numpy as np
from imblearn.over_sampling import SMOTE
from sklearn.ensemble import RandomForestClassifier

rng = np.random.default_rng(3)
X = rng.normal(size=(400, 8))
y = np.zeros(400, dtype=int)
y[[12, 140, 301]] = 1          # only three confirmed cases in this extract
print("class counts:", np.bincount(y))

X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
print("after SMOTE:", np.bincount(y_res))
clf = RandomForestClassifier(n_estimators=100, random_state=0).fit(X_res, y_res)
print("train accuracy", clf.score(X, y))
