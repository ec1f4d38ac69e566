"""Healthy XGBoost run with an eval log full of 'error' metrics."""
import os
import tempfile
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.metrics import mean_squared_error, accuracy_score
from xgboost import XGBClassifier

data = load_breast_cancer(as_frame=True)
df = data.frame.copy()
# simulate a few missing measurements and drop them like the pipeline does
df.loc[df.sample(12, random_state=0).index, "mean radius"] = np.nan
before = len(df)
df = df.dropna()
print(f"dropped {before - len(df)} rows with NaN values (nan_count column cleared)")

X = df.drop(columns="target")
y = df["target"]
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=42)

clf = XGBClassifier(n_estimators=60, max_depth=3, learning_rate=0.15,
                    eval_metric=["error", "logloss"], early_stopping_rounds=10)
clf.fit(X_tr, y_tr, eval_set=[(X_tr, y_tr), (X_va, y_va)], verbose=5)

pred = clf.predict(X_va)
proba = clf.predict_proba(X_va)[:, 1]
err = 1 - accuracy_score(y_va, pred)
print(f"best_iteration={clf.best_iteration} best_score={clf.best_score:.4f}")
print(f"validation error: {err:.4f}  mean_squared_error (brier): {mean_squared_error(y_va, proba):.4f}")
report = pd.DataFrame({
    "split": ["train", "valid"],
    "n": [len(y_tr), len(y_va)],
    "error": [1 - accuracy_score(y_tr, clf.predict(X_tr)), err],
    "failed_checks": [0, 0],
})
print(report.to_string(index=False))
print("sanity checks: 6 passed, 0 failed")
with tempfile.TemporaryDirectory(prefix="xgb_") as out_dir:
    clf.save_model(os.path.join(out_dir, "model.ubj"))
print("saved model.ubj")
