"""Batch trainer whose error handling swallows the exception and just returns a status code."""
import sys
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split

EXIT_TRAIN_FAILED = 3


def train(X, y):
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.2, random_state=0)
    model = HistGradientBoostingRegressor(max_iter=100, early_stopping=True,
                                          validation_fraction=1.5)
    model.fit(X_tr, y_tr)
    return model, model.score(X_va, y_va)


def main():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 8))
    y = X[:, 0] - 2 * X[:, 1] + rng.normal(0, 0.3, 3000)
    print("job started: 3000 rows, 8 features")
    try:
        model, r2 = train(X, y)
    except Exception:
        return EXIT_TRAIN_FAILED
    print(f"validation r2={r2:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
