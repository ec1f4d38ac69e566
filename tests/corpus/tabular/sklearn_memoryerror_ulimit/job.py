"""Kernel ridge regression on 60k rows: the full RBF kernel matrix does not fit in memory."""
import numpy as np
from sklearn.kernel_ridge import KernelRidge

rng = np.random.default_rng(0)
n = 60_000
X = rng.normal(size=(n, 10))
y = X @ rng.normal(size=10) + rng.normal(0, 0.1, n)
print(f"fitting KernelRidge on {n} rows x {X.shape[1]} features")
model = KernelRidge(kernel="rbf", alpha=1.0, gamma=0.1)
model.fit(X, y)
print("done")
