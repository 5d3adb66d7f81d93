import numpy as np
from sklearn import metrics as skm

from sar_xsensor.classify import classification_metrics, make_resnet, train_classifier, ARCHS


def test_metrics_match_sklearn_with_missing_predictions():
    rng = np.random.default_rng(1)
    yt = rng.integers(0, 7, 300); yp = np.where(rng.random(300) < 0.5, yt, rng.integers(0, 5, 300))
    m = classification_metrics(yt, yp, 7)
    assert np.isclose(m['accuracy'], skm.accuracy_score(yt, yp))
    for avg, pre in [('weighted', ''), ('macro', 'macro_')]:
        p, r, f, _ = skm.precision_recall_fscore_support(yt, yp, average=avg, zero_division=0)
        assert np.allclose([m[pre + 'precision'], m[pre + 'recall'], m[pre + 'f1']], [p, r, f])


def test_resnet50_is_the_paper_network():
    m = make_resnet('resnet-50', 7)
    assert m.config.depths == [3, 4, 6, 3] and m.config.num_channels == 1
    assert 23e6 < sum(p.numel() for p in m.parameters()) < 24e6


def test_training_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.random((40, 32, 32)).astype(np.float32); y = rng.integers(0, 3, 40)
    a = train_classifier(x, y, 3, seed=1, epochs=1, batch_size=16)
    b = train_classifier(x, y, 3, seed=1, epochs=1, batch_size=16)
    assert a.history == b.history and (a.predict(x) == b.predict(x)).all()
