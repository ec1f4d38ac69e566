"""Online regression from a stream of sensor records; one record has a missing reading."""
import random
from river import linear_model, metrics, preprocessing

random.seed(0)


def stream(n=500):
    for i in range(n):
        temp = random.gauss(20, 5)
        hum = random.uniform(30, 90)
        # the sensor dropped out for one record: the JSON had "humidity": null
        if i == 237:
            hum = None
        yield {"temperature": temp, "humidity": hum}, 0.3 * temp + 0.05 * (hum or 0) + random.gauss(0, 0.1)


model = preprocessing.StandardScaler() | linear_model.LinearRegression()
mae = metrics.MAE()
for i, (x, y) in enumerate(stream()):
    y_pred = model.predict_one(x)
    mae.update(y, y_pred)
    model.learn_one(x, y)
    if i % 100 == 0:
        print(f"[{i}] {mae}")
print("done", mae)
