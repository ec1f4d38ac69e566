"""LightGBM fraud-probability model (cross-entropy objective) trained on the raw 'status' codes."""
import numpy as np
import pandas as pd
import lightgbm as lgb

rng = np.random.default_rng(11)
n = 2000
df = pd.DataFrame({
    "amount": rng.lognormal(3, 1, n),
    "hour": rng.integers(0, 24, n),
    "merchant_risk": rng.uniform(0, 1, n),
})
# status: 0 = ok, 1 = fraud, 2 = chargeback pending  (should have been mapped to 0/1)
df["status"] = rng.choice([0, 1, 2], size=n, p=[0.9, 0.07, 0.03])
print(df["status"].value_counts().to_string())

train_set = lgb.Dataset(df[["amount", "hour", "merchant_risk"]], label=df["status"])
params = {"objective": "cross_entropy", "metric": "auc", "num_leaves": 15, "learning_rate": 0.05, "verbose": 1}
booster = lgb.train(params, train_set, num_boost_round=100)
print("trees:", booster.num_trees())
