"""Optuna search over LogisticRegression solver/penalty (progress bar on)."""
import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_breast_cancer(return_X_y=True)


def objective(trial):
    C = trial.suggest_float("C", 1e-3, 10.0, log=True)
    solver = trial.suggest_categorical("solver", ["lbfgs", "liblinear", "saga"])
    l1_ratio = trial.suggest_categorical("l1_ratio", [0.0, 1.0])
    clf = make_pipeline(StandardScaler(),
                        LogisticRegression(C=C, solver=solver, l1_ratio=l1_ratio, max_iter=2000))
    return cross_val_score(clf, X, y, cv=3, error_score="raise").mean()


study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=1))
study.optimize(objective, n_trials=20, show_progress_bar=True)
print("best:", study.best_params, study.best_value)
