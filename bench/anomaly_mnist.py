"""One-class MNIST anomaly bench (the Deep SVDD protocol, Ruff et al., ICML 2018).

For each digit c: train on the training images of digit c only, score all 10,000 test digits, and compute
the AUROC of "not c" (anomaly) against "c" (normal). Scores: per-sample reconstruction error.

Rows: PCA(32) reconstruction error fitted on digit c (the simple baseline, same data, same run); aekit's
dense autoencoder (MSE score); a normalised ensemble of the AE and PCA scores (each standardised by its
own training scores' mean and std, then summed); AnomalyScorer (AE error + a GMM density of the AE codes,
alone and plus PCA); optionally (--vae-epochs N) aekit's VAE (negative ELBO). The threshold part of the job is exercised
too: ``fit_threshold(contamination=0.05)`` on the
training digits, then precision/recall/F1 of the flagged test digits.

    python bench/anomaly_mnist.py --budget 1200  # ~20 min on a shared 2-core CPU
    python bench/anomaly_mnist.py --classes 8 --epochs 3   # one class, quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _apps_a import Timer, mnist, write  # noqa: E402

import aekit  # noqa: E402
from aekit.apps.anomaly import AnomalyScorer, anomaly_scores, detect, fit_threshold  # noqa: E402


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return round(100 * float(roc_auc_score(labels, scores)), 2)


def zscore(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    return (test - train.mean()) / (train.std() + 1e-12)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--classes", type=int, nargs="*", default=list(range(10)))
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument(
        "--vae-epochs",
        type=int,
        default=0,
        help="0: skip the VAE rows (its ELBO scored 76.6 on digit 8 and 90.9 on digit 5 in a trial: below the AE)",
    )
    ap.add_argument("--latent", type=int, default=16)
    ap.add_argument("--no-save", action="store_true", help="do not write the results file")
    ap.add_argument("--gmm", type=int, default=4, help="mixture components on the codes (AnomalyScorer)")
    ap.add_argument("--seeds", type=int, default=3, help="autoencoders in the AnomalyScorer ensemble rows")
    ap.add_argument("--budget", type=float, default=1200, help="seconds; classes past it are skipped")
    args = ap.parse_args()
    torch.set_num_threads(1)
    started = time.time()
    load = open("/proc/loadavg").read().split()[:3]
    from sklearn.decomposition import PCA

    (xtr, ytr), (xte, yte) = mnist()
    xtr, xte = xtr.reshape(-1, 784), xte.reshape(-1, 784)
    ae_opts = dict(hidden=[256, 64], latent_dim=args.latent, loss="bce")
    vae_opts = dict(hidden=[256, 64], latent_dim=args.latent, loss="bce")
    fit_opts = dict(batch_size=64, verbose=0, seed=0)
    per_class = {}
    for c in args.classes:
        if time.time() - started > args.budget:
            print(f"budget reached after classes {list(per_class)}", flush=True)
            break
        xc = xtr[ytr == c]
        anomalous = (yte != c).astype(int)
        row: dict = {"n_train": int(len(xc))}
        with Timer() as t:
            pca = PCA(32, random_state=0).fit(xc)

            def pca_err(a):
                return ((pca.inverse_transform(pca.transform(a)) - a) ** 2).mean(1)

            p_tr, p_te = pca_err(xc), pca_err(xte)
        row["pca32"] = auroc(anomalous, p_te)
        row["pca32_s"] = t.s
        with Timer() as t:
            ae = aekit.build("dense", input_shape=(784,), seed=c, **ae_opts)
            ae.fit(xc, epochs=args.epochs, **fit_opts)
            info = fit_threshold(ae, xc, contamination=0.05, metric="mse")
            a_tr, res = anomaly_scores(ae, xc, "mse"), detect(ae, xte)
        row["ae_mse"] = auroc(anomalous, res.scores)
        row["ae_s"] = t.s
        tp = int((res.labels & anomalous).sum())
        prec, rec = tp / max(int(res.labels.sum()), 1), tp / int(anomalous.sum())
        row["ae_at_contamination_0.05"] = {
            "threshold": round(info["threshold"], 6),
            "test_normal_flagged": round(float(res.labels[anomalous == 0].mean()), 4),
            "precision": round(prec, 4),
            "recall": round(rec, 4),
            "f1": round(2 * prec * rec / max(prec + rec, 1e-12), 4),
        }
        row["ensemble_ae_pca"] = auroc(anomalous, zscore(a_tr, res.scores) + zscore(p_tr, p_te))
        with Timer() as t:
            scorer = AnomalyScorer([ae], density="gmm", n_components=args.gmm, metric="mse").fit(xc)
            g_tr, g_te = scorer.score(xc), scorer.score(xte)
        row["ae_recon+gmm"] = auroc(anomalous, g_te)
        row["ae_recon+gmm_s"] = t.s
        row["ae_recon+gmm+pca"] = auroc(anomalous, zscore(g_tr, g_te) + zscore(p_tr, p_te))
        row["ae_blur"] = auroc(anomalous, anomaly_scores(ae, xte, "blur_mse"))
        row["ae_blur+gmm"] = auroc(
            anomalous, AnomalyScorer([ae], density="gmm", n_components=args.gmm, metric="blur_mse").fit(xc).score(xte)
        )
        if args.seeds > 1:
            with Timer() as t:
                models = [ae]
                for s in range(1, args.seeds):
                    m = aekit.build("dense", input_shape=(784,), seed=100 * s + c, **ae_opts)
                    m.fit(xc, epochs=args.epochs, **{**fit_opts, "seed": 100 * s + c})
                    models.append(m)
                ens = AnomalyScorer(models, density="gmm", n_components=args.gmm, metric="mse").fit(xc)
                e_tr, e_te = ens.score(xc), ens.score(xte)
            row["ens_recon+gmm"] = auroc(anomalous, e_te)
            with Timer() as tb:
                blur = AnomalyScorer(models, density="gmm", n_components=args.gmm, metric="blur_mse").fit(xc)
                row["ens_blur+gmm"] = auroc(anomalous, blur.score(xte))
                row["ens_blur"] = auroc(
                    anomalous, AnomalyScorer(models, density=None, metric="blur_mse").fit(xc).score(xte)
                )
            row["ens_blur_s"] = tb.s
            row["ens_recon+gmm+pca"] = auroc(anomalous, zscore(e_tr, e_te) + zscore(p_tr, p_te))
            row["ens_s"] = t.s
        if args.vae_epochs:
            with Timer() as t:
                vae = aekit.build("vae", input_shape=(784,), seed=c, **vae_opts)
                vae.fit(xc, epochs=args.vae_epochs, **fit_opts)
                v_tr, v_te = anomaly_scores(vae, xc, "elbo"), anomaly_scores(vae, xte, "elbo")
            row["vae_elbo"] = auroc(anomalous, v_te)
            row["vae_s"] = t.s
            row["ensemble_ae_vae"] = auroc(anomalous, zscore(a_tr, res.scores) + zscore(v_tr, v_te))
        per_class[c] = row
        print(c, row, flush=True)
    keys = (
        ["pca32", "ae_mse", "ensemble_ae_pca", "ae_recon+gmm", "ae_recon+gmm+pca", "ae_blur", "ae_blur+gmm"]
        + (["ens_recon+gmm", "ens_recon+gmm+pca", "ens_blur", "ens_blur+gmm"] if args.seeds > 1 else [])
        + (["vae_elbo", "ensemble_ae_vae"] if args.vae_epochs else [])
    )
    mean = {k: round(float(np.mean([r[k] for r in per_class.values()])), 2) for k in keys}
    print("mean AUROC", mean)
    result = {
        "bench": "anomaly_mnist",
        "protocol": "one-class MNIST: train on the train-split images of one "
        "digit, score the 10,000 test digits, AUROC (x100) of other digits vs that digit",
        "classes": list(per_class),
        "mean_auroc": mean,
        "load_average_at_start": load,
        "per_class": per_class,
        "published_anchor": {
            "deep_svdd_one_class_mean": 94.8,
            "dcae_baseline_mean": "about 90 (Ruff et al. 2018, Table 1)",
            "aim": 97.5,
        },
        "settings": {
            "ae": {"family": "dense", **ae_opts, "epochs": args.epochs, **fit_opts, "score": "mse"},
            "vae": {
                "family": "vae",
                **vae_opts,
                "epochs": args.vae_epochs,
                **fit_opts,
                "score": "negative ELBO (nats)",
            },
            "pca": {"n_components": 32, "score": "mean squared reconstruction error"},
            "ensemble": "sum of per-model scores standardised by each model's training-score mean and std",
            "ae_recon+gmm": f"AnomalyScorer: AE MSE + NLL of the code under a {args.gmm}-component "
            "full-covariance GMM fitted on the training codes, each standardised by "
            "its training median/IQR",
            "ens_recon+gmm": f"the same over {args.seeds} AEs (seeds), scores averaged",
            "ae_blur": "metric='blur_mse': the MSE of the residual blurred by a Gaussian of one "
            "pixel (aekit.models.losses.smoothed_error), the flat 784 inputs read as 28x28",
            "ens_blur+gmm": "AnomalyScorer(metric='blur_mse', density='gmm') over the same AEs",
        },
        "trial_notes": "VAE (hidden [256, 64], latent 16, 15 epochs) negative-ELBO AUROC in a trial: 76.6 "
        "(digit 8), 90.9 (digit 5), below the AE's MSE (89.4, 96.8); skipped by default",
    }
    if not args.no_save:
        print(write("anomaly_mnist", result, started))


if __name__ == "__main__":
    main()
