"""Robust (least-absolute-deviation) regression fitted with BFGS and finite-difference gradients."""
import numpy as np
from scipy.optimize import minimize

rng = np.random.default_rng(0)
n = 300
X = np.column_stack([np.ones(n), rng.normal(size=(n, 4))])
w_true = np.array([1.0, 2.0, -1.0, 0.5, 0.0])
y = X @ w_true + rng.standard_t(2, size=n)


def lad_loss(w):
    return np.sum(np.abs(y - X @ w))


res = minimize(lad_loss, np.zeros(5), method="BFGS")
print(res)
print("coefficients:", np.round(res.x, 3))
