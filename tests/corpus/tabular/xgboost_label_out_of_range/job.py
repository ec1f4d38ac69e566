"""Train a 3-class XGBoost model on a segment-label CSV export."""
import numpy as np
import pandas as pd
import xgboost as xgb

rng = np.random.default_rng(7)
n = 600
df = pd.DataFrame({
    "tenure": rng.integers(1, 72, n),
    "monthly_spend": rng.normal(60, 20, n).round(2),
    "support_calls": rng.poisson(1.5, n),
})
# segment ids come from the CRM export, which numbers segments 1..3
df["segment"] = rng.integers(1, 4, n)
print(df.head())
print("segments:", sorted(df["segment"].unique()))

X = df[["tenure", "monthly_spend", "support_calls"]]
y = df["segment"]
dtrain = xgb.DMatrix(X, label=y)
params = {"objective": "multi:softmax", "num_class": 3, "max_depth": 4, "eta": 0.1}
print("training xgboost", xgb.__version__, params)
booster = xgb.train(params, dtrain, num_boost_round=50, evals=[(dtrain, "train")], verbose_eval=10)
booster.save_model("segment_model.json")
