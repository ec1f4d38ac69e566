"""Bayesian optimisation of a noisy validation error with scikit-optimize (gp_minimize, verbose)."""
import warnings

import numpy as np
from skopt import gp_minimize
from skopt.space import Integer, Real

warnings.simplefilter("default")
rng = np.random.default_rng(0)


def val_error(params):
    lr, depth = params
    err = (np.log10(lr) + 2.0) ** 2 * 0.05 + abs(depth - 6) * 0.01 + 0.12 + rng.normal(0, 0.005)
    return float(err)


res = gp_minimize(val_error, [Real(1e-5, 1e-1, prior="log-uniform", name="lr"), Integer(2, 12, name="depth")],
                  n_calls=18, n_initial_points=6, random_state=0, verbose=True)
print("best val_error=%.4f at lr=%.2e depth=%d" % (res.fun, res.x[0], res.x[1]))
