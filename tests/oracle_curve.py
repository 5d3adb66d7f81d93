"""The world's oracle curve and ceiling on validation worlds (not a test); writes results/world/oracle_curve_<preset>.json.

Accuracy of the preset's classifier on ≥ 100 target test chips per class when it trains on N target-sensor chips per
class (N = 35, 70, 140, 280, 560), plus the instrument's reference rows at the paper's amounts: target + twins of the
source chips (the ceiling of any translation), target + raw source chips with and without spacing matching.
World seeds 100+ (validation worlds), never the test worlds.
Run: python tests/oracle_curve.py [--preset bench] [--worlds 100 101] [--seeds 2] [--sizes 35 70 140 280 560] [--threads 1]
"""
import argparse, time
from pathlib import Path
import numpy as np, pandas as pd, torch

from sar_xsensor.core import get_preset, make_record, write_json_atomic, child_seed
from sar_xsensor.simulate import simulate_chips
from sar_xsensor.data import ChipSet, concat_chipsets, match_spacing
from sar_xsensor.classify import train_classifier

def chipset(display, labels, classes):
    return ChipSet(display.astype(np.float32)/255, np.array([classes.index(c) for c in labels]), classes,
                   pd.DataFrame(dict(cls=labels)))

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--preset', default='bench')
    ap.add_argument('--worlds', type=int, nargs='+', default=[100, 101])
    ap.add_argument('--seeds', type=int, default=2)
    ap.add_argument('--sizes', type=int, nargs='+', default=[35, 70, 140, 280, 560])
    ap.add_argument('--n-test', type=int, default=100)
    ap.add_argument('--n-source', type=int, default=140, help='source chips per class (the paper: 129–165)')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--out', default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    p = get_preset(a.preset); b = p['benchmark']; classes = list(b['source_counts'])
    cfg = {k: p['classifier'][k] for k in ('arch', 'epochs', 'batch_size', 'lr', 'weight_decay', 'normalize')}
    fs, ft = b['source_footprint_m'], b['source_footprint_m']*b['footprint_ratio']
    out = Path(a.out or Path(__file__).resolve().parents[1]/'results'/'world'/f'oracle_curve_{a.preset}.json')
    runs, t0 = [], time.time()
    for w in a.worlds:
        sim = lambda n, tag, **kw: simulate_chips([c for c in classes for _ in range(n)], b['target_sensor'], ft, b['chip_px'],
                                                  child_seed(w, tag), b.get('footprint_jitter', 0.), **kw)
        labels = lambda n: [c for c in classes for _ in range(n)]
        test = chipset(sim(a.n_test, 'test')['display'], labels(a.n_test), classes)
        pool = chipset(sim(max(a.sizes), 'pool')['display'], labels(max(a.sizes)), classes)
        src = simulate_chips(labels(a.n_source), b['source_sensor'], fs, b['chip_px'], child_seed(w, 'source'),
                             b.get('footprint_jitter', 0.), twin_sensor=b['target_sensor'], twin_footprint_m=ft)
        raw = chipset(src['display'], labels(a.n_source), classes)
        twins = chipset(src['twin']['display'], labels(a.n_source), classes)
        sp_s = np.array([m['pixel_spacing_m'] for m in src['meta']]); sp_t = float(np.median([m['pixel_spacing_m'] for m in src['twin']['meta']]))
        matched = ChipSet(match_spacing(raw.x, sp_s, sp_t, seed=w), raw.y, classes, raw.df)
        first = lambda s, n: s.subset(np.concatenate([np.flatnonzero(s.y == k)[:n] for k in range(len(classes))]))
        sets = {f'target_{n}': first(pool, n) for n in a.sizes}
        base = first(pool, 35)
        sets |= {'target+twins': concat_chipsets(base, twins), 'target+raw_source': concat_chipsets(base, raw),
                 'target+raw_source_matched': concat_chipsets(base, matched)}
        for seed in range(a.seeds):
            for name, tr in sets.items():
                res = train_classifier(tr.x, tr.y, len(classes), seed=child_seed(seed, 'oracle', name), **cfg)
                m = res.evaluate(test.x, test.y, len(classes))
                runs.append(dict(world_seed=w, seed=seed, training_set=name, n_train=len(tr), n_test=len(test),
                                 accuracy=m['accuracy'], f1=m['f1'], train_seconds=res.seconds))
                print(w, seed, name, len(tr), f"{100*m['accuracy']:.1f}", f'{res.seconds:.0f}s', flush=True)
                write_json_atomic(out, make_record('oracle_curve', dict(preset=p, worlds=a.worlds, seeds=a.seeds, sizes=a.sizes,
                                                   n_test_per_class=a.n_test, n_source_per_class=a.n_source, threads=a.threads),
                                                   metrics={}, runs=runs, timings=dict(total_seconds=time.time() - t0)))
    print('written', out)
