"""Daily retrain with key=value structured logs; refuses to train without positive labels."""
import logging
import sys
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

logging.basicConfig(
    level=logging.INFO,
    format='ts=%(asctime)s level=%(levelname)s logger=%(name)s message="%(message)s"',
    stream=sys.stdout,
)
log = logging.getLogger("retrain")

rng = np.random.default_rng(21)
n = 5000
events = pd.DataFrame({
    "day": rng.integers(1, 31, n),
    "clicks": rng.poisson(3, n),
    "dwell_s": rng.gamma(2, 30, n),
})
events["converted"] = ((events["clicks"] > 6) & (events["day"] < 20)).astype(int)
log.info("loaded events rows=%d error_rate_col=absent", len(events))

window = events[events["day"] >= 24]      # last 7 days only
pos = int(window["converted"].sum())
log.info("training window rows=%d positives=%d", len(window), pos)
if pos == 0:
    log.error("no positive labels in training window days=24..30 rows=%d", len(window))
    log.error("retrain aborted status=failed")
    sys.exit(1)

X_tr, X_te, y_tr, y_te = train_test_split(window[["clicks", "dwell_s"]], window["converted"])
clf = LogisticRegression().fit(X_tr, y_tr)
log.info("val_accuracy=%.4f", clf.score(X_te, y_te))
