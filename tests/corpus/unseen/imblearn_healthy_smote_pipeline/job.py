"""Fraud-like imbalanced classification: SMOTE + logistic regression, cross-validated."""
import warnings

import numpy as np
from imblearn.metrics import classification_report_imbalanced
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate, train_test_split
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("default")

X, y = make_classification(n_samples=3000, n_features=12, n_informative=6, weights=[0.95, 0.05], random_state=0)
X[::97, 3] = np.nan
mask = ~np.isnan(X).any(axis=1)
print(f"dropped {int((~mask).sum())} rows with NaN values")
X, y = X[mask], y[mask]
print("class counts:", np.bincount(y))

pipe = make_pipeline(StandardScaler(), SMOTE(random_state=0), LogisticRegression(max_iter=500))
cv = cross_validate(pipe, X, y, cv=5, scoring=["balanced_accuracy", "neg_log_loss", "f1"], return_train_score=True, verbose=2)
for k, v in cv.items():
    print(f"{k:28s} {np.mean(v): .4f} +/- {np.std(v):.4f}")

X_tr, X_te, y_tr, y_te = train_test_split(X, y, stratify=y, random_state=0)
pipe.fit(X_tr, y_tr)
print(classification_report_imbalanced(y_te, pipe.predict(X_te), target_names=["legit", "fraud"]))
print("misclassification error:", float(np.mean(pipe.predict(X_te) != y_te)))
