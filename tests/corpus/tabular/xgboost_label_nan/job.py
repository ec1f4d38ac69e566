"""XGBoost regressor on a merged table where some targets did not join."""
import numpy as np
import pandas as pd
import xgboost as xgb

rng = np.random.default_rng(3)
features = pd.DataFrame({"order_id": np.arange(1000), "basket": rng.integers(1, 20, 1000),
                         "distance_km": rng.uniform(0.5, 30, 1000)})
targets = pd.DataFrame({"order_id": rng.choice(1000, 950, replace=False)})
targets["delivery_min"] = 10 + 2 * rng.uniform(0, 30, 950)
df = features.merge(targets, on="order_id", how="left")
print(f"merged {len(df)} rows; delivery_min nulls: {df['delivery_min'].isna().sum()}")
dtrain = xgb.DMatrix(df[["basket", "distance_km"]], label=df["delivery_min"])
booster = xgb.train({"objective": "reg:squarederror", "max_depth": 4}, dtrain, 50,
                    evals=[(dtrain, "train")], verbose_eval=10)
