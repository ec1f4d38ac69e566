"""Hyperparameter search where the objective reads a key that the search space does not define."""
import numpy as np
from hyperopt import STATUS_OK, Trials, fmin, hp, tpe

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 5))
y = (X[:, 0] + X[:, 1] > 0).astype(float)


def objective(params):
    lr = params["learning_rate"]
    if params["use_l2"] and rng.random() < 0.5:
        lr *= params["l2_decay"]          # only in the old search space
    wts = np.zeros(5)
    for _ in range(50):
        p = 1 / (1 + np.exp(-X @ wts))
        wts -= lr * X.T @ (p - y) / len(y)
    p = np.clip(1 / (1 + np.exp(-X @ wts)), 1e-9, 1 - 1e-9)
    return {"loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))), "status": STATUS_OK}


space = {"learning_rate": hp.loguniform("learning_rate", -6, 0), "use_l2": hp.choice("use_l2", [False, True])}
best = fmin(objective, space, algo=tpe.suggest, max_evals=50, trials=Trials(), rstate=np.random.default_rng(1))
print(best)
