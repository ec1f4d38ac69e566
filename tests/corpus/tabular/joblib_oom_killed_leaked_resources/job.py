"""Parallel cross-validation of a RandomForest with 2 loky workers inside a 300 MB memory cgroup."""
import numpy as np
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import cross_val_score

rng = np.random.default_rng(0)
n, d = 200_000, 10
X = rng.normal(size=(n, d)).astype(np.float32)
y = X[:, :5].sum(axis=1) + rng.normal(0, 0.1, n)
print(f"X: {X.nbytes / 2**20:.0f} MiB; starting 3-fold CV with n_jobs=2")
model = RandomForestRegressor(n_estimators=100, max_features=1, min_samples_leaf=1, random_state=0)
scores = cross_val_score(model, X, y, cv=3, n_jobs=2, verbose=2,
                         scoring="neg_mean_squared_error")
print("cv mean_squared_error:", -scores.mean())
