"""Training service: logs with the default logging format, logs the exception, exits 1."""
import logging
import sys
import numpy as np
import lightgbm as lgb

logging.basicConfig(level=logging.INFO)
log = logging.getLogger("trainer")


def load_split(name, n_features, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, n_features))
    y = (X[:, 0] + rng.normal(0, 0.5, 500) > 0).astype(int)
    return X, y


def main():
    X_tr, y_tr = load_split("train", 6, 0)
    X_ho, y_ho = load_split("holdout", 5, 1)   # the holdout extract lost a feature
    log.info("train shape %s, holdout shape %s", X_tr.shape, X_ho.shape)
    booster = lgb.train({"objective": "binary", "metric": "binary_error", "verbose": -1},
                        lgb.Dataset(X_tr, label=y_tr), num_boost_round=50,
                        valid_sets=[lgb.Dataset(X_tr, label=y_tr)],
                        callbacks=[lgb.log_evaluation(10)])
    try:
        pred = booster.predict(X_ho)
    except lgb.basic.LightGBMError:
        log.exception("holdout evaluation failed for run_id=%s", "2024-03-14-a")
        log.error("aborting: model not promoted")
        return 1
    log.info("holdout error=%.4f", np.mean((pred > 0.5) != y_ho))
    return 0


if __name__ == "__main__":
    sys.exit(main())
