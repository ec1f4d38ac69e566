"""Healthy CatBoost run with eval set, Logloss/error metrics and early stopping."""
import numpy as np
import pandas as pd
from catboost import CatBoostClassifier, Pool
from sklearn.model_selection import train_test_split

rng = np.random.default_rng(4)
n = 1500
df = pd.DataFrame({
    "region": rng.choice(["north", "south", "east", "west"], n),
    "plan": rng.choice(["basic", "pro", "team"], n),
    "usage_gb": rng.gamma(2, 10, n),
    "error_count": rng.poisson(1.0, n),       # a feature about device errors
})
logit = 0.08 * (df["usage_gb"] - 20) + 0.6 * (df["plan"] == "pro") - 0.4 * df["error_count"]
y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
X_tr, X_va, y_tr, y_va = train_test_split(df, y, test_size=0.2, random_state=0)
cat = ["region", "plan"]
model = CatBoostClassifier(iterations=300, depth=4, learning_rate=0.08, eval_metric="Logloss",
                           custom_metric=["AUC", "ZeroOneLoss"], od_type="Iter", od_wait=30,
                           random_seed=0, verbose=50, allow_writing_files=False, thread_count=2)
model.fit(Pool(X_tr, y_tr, cat_features=cat), eval_set=Pool(X_va, y_va, cat_features=cat))
print("best iteration:", model.get_best_iteration())
print("best score:", model.get_best_score())
imp = model.get_feature_importance(prettified=True)
print(imp.to_string(index=False))
