"""Features job: codes as features, a fine-tuned encoder + softmax classifier, and its errors."""

import numpy as np
import pytest
import torch

import aekit
from aekit.apps.features import EncoderClassifier, extract_features, finetune_classifier


def blobs(n: int, seed: int):
    """Three Gaussian classes in 20-D, separable but not trivially by one coordinate."""
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(7).normal(size=(3, 20)) * 1.5
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.normal(size=(n, 20))).astype(np.float32), y


@pytest.fixture(scope="module")
def pretrained():
    x, _ = blobs(1500, 0)
    ae = aekit.build(
        "dense", input_shape=(20,), hidden=[32], latent_dim=6, output_activation="linear", loss="mse", seed=0
    )
    ae.fit(x, epochs=10, batch_size=64, verbose=0, seed=0)
    return ae


def test_extract_features_are_the_codes(pretrained):
    x, _ = blobs(50, 1)
    f = extract_features(pretrained, x)
    assert f.shape == (50, pretrained.code_size) and np.allclose(f, pretrained.encode(x))


def test_codes_feed_a_logistic_regression(pretrained):
    from sklearn.linear_model import LogisticRegression

    x, y = blobs(600, 2)
    xt, yt = blobs(600, 3)
    clf = LogisticRegression(max_iter=500).fit(extract_features(pretrained, x), y)
    assert clf.score(extract_features(pretrained, xt), yt) > 0.9


def test_finetuned_classifier_learns_and_leaves_the_autoencoder_alone(pretrained):
    x, y = blobs(300, 4)
    xt, yt = blobs(600, 5)
    labels = np.array(["cat", "dog", "eel"])[y]
    before = {k: v.clone() for k, v in pretrained.module.state_dict().items()}
    clf = finetune_classifier(
        pretrained,
        x,
        labels,
        epochs=15,
        batch_size=32,
        seed=0,
        validation_data=(xt, np.array(["cat", "dog", "eel"])[yt]),
    )
    assert isinstance(clf, EncoderClassifier) and list(clf.classes_) == ["cat", "dog", "eel"]
    assert clf.score(xt, np.array(["cat", "dog", "eel"])[yt]) > 0.9
    p = clf.predict_proba(xt[:10])
    assert p.shape == (10, 3) and np.allclose(p.sum(1), 1)
    assert np.array_equal(clf.classes_[p.argmax(1)], clf.predict(xt[:10]))
    assert len(clf.history["loss"]) == 15 and clf.history["loss"][-1] < clf.history["loss"][0]
    assert len(clf.history["val_accuracy"]) == 15
    after = pretrained.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_freeze_encoder_trains_only_the_softmax_layer(pretrained):
    x, y = blobs(200, 6)
    clf = finetune_classifier(pretrained, x, y, epochs=3, batch_size=32, freeze_encoder=True, seed=0)
    enc = clf.module.encoder.state_dict()
    assert all(torch.equal(v, pretrained.module.encoder.state_dict()[k]) for k, v in enc.items())
    a = finetune_classifier(pretrained, x, y, epochs=2, batch_size=32, seed=1).predict_proba(x[:5])
    b = finetune_classifier(pretrained, x, y, epochs=2, batch_size=32, seed=1).predict_proba(x[:5])
    assert np.allclose(a, b)  # seeded runs repeat


def test_finetune_user_errors(pretrained):
    x, y = blobs(40, 7)
    with pytest.raises(aekit.AekitError, match="one label per sample"):
        finetune_classifier(pretrained, x, y[:-1], epochs=1)
    with pytest.raises(aekit.AekitError, match="at least 2"):
        finetune_classifier(pretrained, x, np.zeros(40), epochs=1)
    with pytest.raises(aekit.AekitError, match="does not fit"):
        finetune_classifier(pretrained, np.zeros((40, 7), np.float32), y, epochs=1)
