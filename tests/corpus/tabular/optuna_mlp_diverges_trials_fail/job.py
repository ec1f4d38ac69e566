"""Optuna search over the SGD learning rate of a linear MLPRegressor on unscaled features."""
import numpy as np
import optuna
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor

rng = np.random.default_rng(0)
n = 2000
X = np.column_stack([rng.normal(1.5, 0.4, n), rng.integers(1, 6, n), rng.uniform(0, 100, n)])
y = 150 * X[:, 0] + 10 * X[:, 1] - 0.5 * X[:, 2] + rng.normal(0, 20, n)
X_tr, X_va, y_tr, y_va = train_test_split(X, y, random_state=0)


def objective(trial):
    lr = trial.suggest_float("learning_rate_init", 1e-6, 1e-2, log=True)
    model = MLPRegressor(hidden_layer_sizes=(16,), activation="identity", solver="sgd",
                         learning_rate_init=lr, max_iter=20, random_state=0)
    model.fit(X_tr, y_tr)
    return mean_squared_error(y_va, model.predict(X_va))


study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(seed=2))
study.optimize(objective, n_trials=6, catch=(ValueError,))
done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
print(f"{len(done)} of {len(study.trials)} trials completed")
print("best mean_squared_error: %.1f with %s" % (study.best_value, study.best_params))
