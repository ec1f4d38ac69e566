"""Train an XGBoost ranker-ish regressor and save it to a nearly full model volume."""
import os
import numpy as np
import xgboost as xgb

MODEL_DIR = "/tmp/tabular_disk_xgb/models"
os.makedirs(MODEL_DIR, exist_ok=True)
rng = np.random.default_rng(0)
X = rng.normal(size=(20000, 30))
y = X[:, 0] * 2 + np.sin(X[:, 1]) + rng.normal(0, 0.1, 20000)
dtrain = xgb.DMatrix(X, label=y)
booster = xgb.train({"max_depth": 8, "eta": 0.1, "objective": "reg:squarederror"}, dtrain,
                    num_boost_round=200, evals=[(dtrain, "train")], verbose_eval=50)
path = os.path.join(MODEL_DIR, "model.json")
booster.save_model(path)
print("saved", path, os.path.getsize(path), "bytes")
