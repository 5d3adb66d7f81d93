"""What `data.duplicate_groups` catches: signature correlations between distinct chips of a benchmark folder, and
between chips and altered copies (random 90° rotation, flip, gain 0.8–1.2, gamma 0.7–1.4, Gaussian noise on [0, 1]).
Run: OMP_NUM_THREADS=1 python bench/bench_duplicates.py --chips runs/bench_instrument/world0/benchmark/fc1_like
     [--n 700] [--copies 100] [--noise 0.03] [--out results/data/duplicates_bench.json]"""
import argparse
import numpy as np
from sar_xsensor.core import make_record, write_json_atomic
from sar_xsensor.data import scan_chips, load_chips, chip_signatures

def best_match(sig_a:np.ndarray, sig_b:np.ndarray, block:int=256)->np.ndarray:
    "(len(a), len(b)) correlations of each chip of `a` as it is with the best of the 8 views of each chip of `b`."
    return np.concatenate([np.einsum('id,jkd->ijk', sig_a[i:i + block, 0], sig_b).max(-1) for i in range(0, len(sig_a), block)])

def altered(x:np.ndarray, rng, noise:float)->np.ndarray:
    v = np.rot90(x, rng.integers(4)); v = v[:, ::-1] if rng.random() < 0.5 else v
    return np.clip(v**rng.uniform(0.7, 1.4)*rng.uniform(0.8, 1.2) + rng.normal(0, noise, v.shape), 0, 1).astype(np.float32)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--chips', required=True); ap.add_argument('--n', type=int, default=700)
    ap.add_argument('--copies', type=int, default=100); ap.add_argument('--noise', type=float, default=0.03)
    ap.add_argument('--size', type=int, default=64); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default='results/data/duplicates_bench.json')
    a = ap.parse_args()
    df = scan_chips(a.chips); df = df.iloc[np.linspace(0, len(df) - 1, min(a.n, len(df))).astype(int)]
    x = load_chips(None, a.size, df=df[['path', 'cls']]).x
    rng = np.random.default_rng(a.seed)
    copies = np.stack([altered(c, rng, a.noise) for c in x[:a.copies]])
    sig_x, sig_c = chip_signatures(x), chip_signatures(copies)
    s = best_match(sig_x, sig_x); distinct = s[np.triu_indices(len(x), 1)]
    pair = np.array([best_match(sig_c[k:k + 1], sig_x[k:k + 1])[0, 0] for k in range(len(copies))])
    th = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
    metrics = dict(n_chips=len(x), n_distinct_pairs=int(len(distinct)), n_copies=len(copies),
                   distinct_max=float(distinct.max()), distinct_p999=float(np.percentile(distinct, 99.9)),
                   copies_min=float(pair.min()), copies_p5=float(np.percentile(pair, 5)),
                   by_threshold={str(t): dict(false_pairs=int((distinct > t).sum()), copies_caught=float((pair > t).mean())) for t in th})
    write_json_atomic(a.out, make_record('duplicates', dict(chips=a.chips, n=a.n, copies=a.copies, noise=a.noise, size=a.size), metrics, seed=a.seed))
    print(metrics)
