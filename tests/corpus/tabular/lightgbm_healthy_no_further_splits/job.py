"""Healthy LightGBM regression on a small dataset (prints split warnings, l2/mean_squared_error)."""
import numpy as np
import pandas as pd
import lightgbm as lgb
from sklearn.metrics import mean_squared_error, mean_absolute_error

rng = np.random.default_rng(5)
n = 160
df = pd.DataFrame({
    "sqft": rng.normal(1500, 300, n),
    "rooms": rng.integers(1, 6, n),
    "age": rng.integers(0, 60, n),
})
df["price"] = 100 * df["sqft"] + 5000 * df["rooms"] - 300 * df["age"] + rng.normal(0, 8000, n)
df.loc[[3, 17, 40], "age"] = np.nan
n_nan = int(df.isna().any(axis=1).sum())
df = df.dropna()
print(f"dropped {n_nan} rows with NaN in 'age'; {len(df)} rows left")

train, valid = df.iloc[:120], df.iloc[120:]
feats = ["sqft", "rooms", "age"]
dtrain = lgb.Dataset(train[feats], label=train["price"])
dvalid = lgb.Dataset(valid[feats], label=valid["price"], reference=dtrain)
params = {"objective": "regression", "metric": ["l2", "l1"], "learning_rate": 0.1,
          "num_leaves": 31, "min_data_in_leaf": 20, "seed": 1}
booster = lgb.train(params, dtrain, num_boost_round=40, valid_sets=[dtrain, dvalid],
                    valid_names=["train", "valid"],
                    callbacks=[lgb.log_evaluation(10), lgb.early_stopping(10)])
pred = booster.predict(valid[feats], num_iteration=booster.best_iteration)
print(f"valid mean_squared_error={mean_squared_error(valid['price'], pred):.1f} "
      f"mean_absolute_error={mean_absolute_error(valid['price'], pred):.1f}")
print("feature importance (gain):")
imp = pd.DataFrame({"feature": feats, "gain": booster.feature_importance("gain")})
print(imp.sort_values("gain", ascending=False).to_string(index=False))
