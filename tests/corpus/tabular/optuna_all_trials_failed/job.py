"""Optuna tuning of a GradientBoostingClassifier; failing trials are caught and skipped."""
import numpy as np
import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import cross_val_score

X, y = load_breast_cancer(return_X_y=True)
X = X.copy()
# a join upstream left some 'worst texture' values missing
rng = np.random.default_rng(0)
X[rng.choice(len(X), 25, replace=False), 21] = np.nan


def objective(trial):
    params = {
        "n_estimators": trial.suggest_int("n_estimators", 20, 80),
        "max_depth": trial.suggest_int("max_depth", 2, 4),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
    }
    return cross_val_score(GradientBoostingClassifier(**params), X, y, cv=3,
                           error_score="raise").mean()


study = optuna.create_study(direction="maximize", study_name="gbc-tuning",
                            sampler=optuna.samplers.RandomSampler(seed=0))
study.optimize(objective, n_trials=5, catch=(ValueError,))
print("trials:", len(study.trials))
print("best params:", study.best_params)
