"""Train a RandomForest and persist it with joblib to the model volume (a small, nearly full disk)."""
import os
import joblib
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

MODEL_DIR = "/tmp/tabular_disk_joblib/models"
os.makedirs(MODEL_DIR, exist_ok=True)
X, y = make_classification(n_samples=5000, n_features=20, random_state=0)
clf = RandomForestClassifier(n_estimators=50, random_state=0, n_jobs=2).fit(X, y)
print("train accuracy:", clf.score(X, y))
st = os.statvfs(MODEL_DIR)
print(f"model volume free: {st.f_bavail * st.f_frsize / 1024:.0f} KiB")
path = os.path.join(MODEL_DIR, "rf_v3.joblib")
joblib.dump(clf, path)
print("saved", path)
