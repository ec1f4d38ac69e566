"""Healthy Optuna study with a MedianPruner over an SGDClassifier's epochs."""
import warnings
import numpy as np
import optuna
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

X, y = load_digits(return_X_y=True)
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0)
sc = StandardScaler().fit(X_tr)
X_tr, X_va = sc.transform(X_tr), sc.transform(X_va)
classes = np.unique(y)


def objective(trial):
    alpha = trial.suggest_float("alpha", 1e-6, 1e-1, log=True)
    loss = trial.suggest_categorical("loss", ["hinge", "log_loss", "modified_huber"])
    clf = SGDClassifier(alpha=alpha, loss=loss, random_state=0)
    val_error = 1.0
    for epoch in range(10):
        clf.partial_fit(X_tr, y_tr, classes=classes)
        val_error = 1.0 - clf.score(X_va, y_va)
        trial.report(val_error, epoch)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return val_error


study = optuna.create_study(direction="minimize", study_name="sgd-val_error",
                            sampler=optuna.samplers.TPESampler(seed=3),
                            pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2))
study.optimize(objective, n_trials=25)
states = [t.state.name for t in study.trials]
print(f"finished: {states.count('COMPLETE')} complete, {states.count('PRUNED')} pruned, "
      f"{states.count('FAIL')} failed")
print("best val_error: %.4f with %s" % (study.best_value, study.best_params))
df = study.trials_dataframe(attrs=("number", "value", "state"))
print(df.rename(columns={"value": "val_error"}).head(10).to_string(index=False))
