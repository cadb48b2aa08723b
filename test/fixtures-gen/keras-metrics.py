# Computes the Keras metric values that test/keras-conveniences.test.ts compares warmstart with.
# Run with the project's Keras 3 (PyTorch backend): . $KERAS_ENV/env.sh; /usr/bin/python3 test/fixtures-gen/keras-metrics.py
import numpy as np, json
import keras
m, n = 40, 3
true = np.array([[1.0 if (i * 3 + j * 5) % 7 < 3 else 0.0 for j in range(n)] for i in range(m)], dtype=np.float32)
pred = np.array([[0.35 * true[i][j] + 0.65 * (((i * 7 + j * 13) % 101) / 100) for j in range(n)] for i in range(m)], dtype=np.float32)
pred[0] = [0.5, 0.0, 1.0]
onehot = np.zeros((m, n), dtype=np.float32)
idx = np.array([(i * 5) % n for i in range(m)])
onehot[np.arange(m), idx] = 1
def run(metric, t, p):
    metric.update_state(t[:25], p[:25]); metric.update_state(t[25:], p[25:])
    return float(metric.result())
out = {
  'auc': run(keras.metrics.AUC(), true, pred),
  'auc_pr': run(keras.metrics.AUC(curve='PR'), true, pred),
  'auc_minoring_50': run(keras.metrics.AUC(summation_method='minoring', num_thresholds=50), true, pred),
  'precision': run(keras.metrics.Precision(), true, pred),
  'recall': run(keras.metrics.Recall(), true, pred),
  'mae': run(keras.metrics.MeanAbsoluteError(), true, pred),
  'mse': run(keras.metrics.MeanSquaredError(), true, pred),
  'top2': run(keras.metrics.TopKCategoricalAccuracy(k=2), onehot, pred),
  'sparse_top2': run(keras.metrics.SparseTopKCategoricalAccuracy(k=2), idx.astype(np.float32), pred),
  'top1': run(keras.metrics.TopKCategoricalAccuracy(k=1), onehot, pred),
}
print(json.dumps(out))
print(keras.__version__, keras.backend.backend())
