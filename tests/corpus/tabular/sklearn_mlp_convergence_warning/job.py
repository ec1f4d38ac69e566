"""Small MLP on the digits dataset with a short iteration budget; finishes and reports."""
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

X, y = load_digits(return_X_y=True)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
scaler = StandardScaler().fit(X_tr)
clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=15, learning_rate_init=0.0005,
                    random_state=0, verbose=True)
clf.fit(scaler.transform(X_tr), y_tr)
print("test accuracy: %.3f" % clf.score(scaler.transform(X_te), y_te))
print("final loss: %.4f after %d iterations" % (clf.loss_, clf.n_iter_))
