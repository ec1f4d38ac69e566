"""Healthy parallel grid search with deprecation/future warnings and an error-metric report."""
import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error
from sklearn.model_selection import GridSearchCV, train_test_split

X, y = load_diabetes(return_X_y=True, as_frame=True)
X = X.copy()
X.loc[X.sample(7, random_state=1).index, "bmi"] = np.nan
mask = X.notna().all(axis=1)
print(f"dropped {int((~mask).sum())} rows with NaN (nan_rows={int((~mask).sum())})")
X, y = X[mask], y[mask]
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)

# config carried over from an older project: criterion="friedman_mse"
gbr = GradientBoostingRegressor(criterion="friedman_mse", random_state=0)
grid = {"n_estimators": [50, 100], "max_depth": [2, 3], "learning_rate": [0.05, 0.1]}
search = GridSearchCV(gbr, grid, cv=3, n_jobs=2, verbose=1,
                      scoring="neg_mean_squared_error", error_score="raise")
search.fit(X_tr, y_tr)
res = pd.DataFrame(search.cv_results_)
res["mean_squared_error"] = -res["mean_test_score"]
res["std_error"] = res["std_test_score"]
cols = ["param_n_estimators", "param_max_depth", "param_learning_rate",
        "mean_squared_error", "std_error", "rank_test_score"]
print(res[cols].sort_values("rank_test_score").to_string(index=False))
pred = search.predict(X_te)
print(f"best params: {search.best_params_}")
print(f"test mean_squared_error={mean_squared_error(y_te, pred):.1f} "
      f"mean_absolute_error={mean_absolute_error(y_te, pred):.1f}")
n_failed = int(res["mean_test_score"].isna().sum())
print(f"{len(res) * 3} fits: {len(res) * 3 - n_failed} passed, {n_failed} failed")
