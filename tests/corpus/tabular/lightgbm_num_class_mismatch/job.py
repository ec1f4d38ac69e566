"""Multiclass LightGBM on iris, num_class left from an older two-class config."""
import lightgbm as lgb
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

X, y = load_iris(return_X_y=True)
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
print("classes in training labels:", sorted(set(y_tr)))

params = {"objective": "multiclass", "num_class": 2, "metric": "multi_logloss",
          "learning_rate": 0.1, "num_leaves": 7, "verbose": -1}
dtrain = lgb.Dataset(X_tr, label=y_tr)
dvalid = lgb.Dataset(X_va, label=y_va, reference=dtrain)
booster = lgb.train(params, dtrain, num_boost_round=50, valid_sets=[dvalid],
                    callbacks=[lgb.log_evaluation(10)])
print("done", booster.best_iteration)
