"""Tune a ridge regression with hyperopt TPE; some configurations are rejected as failed trials."""
import numpy as np
from hyperopt import STATUS_FAIL, STATUS_OK, Trials, fmin, hp, tpe

rng = np.random.default_rng(0)
X = rng.normal(size=(300, 10))
w = rng.normal(size=10)
y = X @ w + rng.normal(scale=0.5, size=300)
X_tr, X_va, y_tr, y_va = X[:200], X[200:], y[:200], y[200:]


def objective(params):
    alpha = params["alpha"]
    if params["n_features"] < 3:
        return {"status": STATUS_FAIL, "failure": "too few features, skipped"}
    k = int(params["n_features"])
    A = X_tr[:, :k]
    coef = np.linalg.solve(A.T @ A + alpha * np.eye(k), A.T @ y_tr)
    mse = float(np.mean((X_va[:, :k] @ coef - y_va) ** 2))
    return {"loss": mse, "status": STATUS_OK, "mean_squared_error": mse}


space = {"alpha": hp.loguniform("alpha", np.log(1e-4), np.log(100)), "n_features": hp.quniform("n_features", 1, 10, 1)}
trials = Trials()
best = fmin(objective, space, algo=tpe.suggest, max_evals=60, trials=trials, rstate=np.random.default_rng(42))
n_failed = sum(t["result"]["status"] == STATUS_FAIL for t in trials.trials)
print("best:", best)
print(f"trials: {len(trials.trials)}, failed: {n_failed}, best val mean_squared_error: {min(trials.losses(), key=lambda l: l if l is not None else np.inf):.4f}")
