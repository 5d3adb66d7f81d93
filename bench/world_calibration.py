"""What caps the simulated world, measured on validation worlds (not a test); writes records under results/calibration/world/.

  oracle    accuracy against target-sensor training chips per class (35 … 560), and at the paper's source amount the
            instrument's reference rows: target + twins (the ceiling of any translation), target + raw source chips with
            and without the spacing pre-step                                  → oracle_curve_<preset>[_<tag>].json
  ablation  each target-sensor parameter set to the source's in turn (and the footprint ratio to 1): target-only,
            naive pooling, pooling after the spacing pre-step, and the twins' ceiling → ablation_<preset>[_<tag>].json

World seeds 100+ only (validation worlds), never a test world. Classifier settings are the preset's unless overridden.
Run: python bench/world_calibration.py oracle [--preset bench] [--worlds 100] [--seeds 2] [--epochs N] [--chip-px N]
                                             [--footprint-ratio R] [--n-fresh 190] [--threads 1] [--tag T]
     python bench/world_calibration.py ablation [--params looks,res,...] [--worlds 100] [--seeds 2]
"""
import argparse, dataclasses, time
from pathlib import Path
import numpy as np, pandas as pd, torch

from sar_xsensor.core import get_preset, make_record, write_json_atomic, child_seed
from sar_xsensor.simulate import simulate_chips
from sar_xsensor.sensors import get_sensor, Sensor
from sar_xsensor.data import ChipSet, concat_chipsets, match_spacing
from sar_xsensor.classify import train_classifier

ROOT = Path(__file__).resolve().parents[1]

def chipset(display, labels, classes):
    return ChipSet(display.astype(np.float32)/255, np.array([classes.index(c) for c in labels]), classes, pd.DataFrame(dict(cls=labels)))

def simulate_world(b:dict, source:Sensor, target:Sensor, w:int, n_test:int, n_pool:int, n_source:int)->dict:
    "ChipSets of one validation world: target test and training pool, raw source chips, their twins, and the spacing-matched source."
    classes = list(b['source_counts']); labels = lambda n: [c for c in classes for _ in range(n)]
    fs, ft, jit = b['source_footprint_m'], b['source_footprint_m']*b['footprint_ratio'], b.get('footprint_jitter', 0.)
    sim = lambda n, tag: chipset(simulate_chips(labels(n), target, ft, b['chip_px'], child_seed(w, tag), jit)['display'], labels(n), classes)
    src = simulate_chips(labels(n_source), source, fs, b['chip_px'], child_seed(w, 'source'), jit, twin_sensor=target, twin_footprint_m=ft)
    raw, twins = chipset(src['display'], labels(n_source), classes), chipset(src['twin']['display'], labels(n_source), classes)
    sp_s = np.array([m['pixel_spacing_m'] for m in src['meta']]); sp_t = float(np.median([m['pixel_spacing_m'] for m in src['twin']['meta']]))
    matched = ChipSet(match_spacing(raw.x, sp_s, sp_t, seed=w), raw.y, classes, raw.df)
    return dict(test=sim(n_test, 'test'), pool=sim(n_pool, 'pool'), raw=raw, twins=twins, matched=matched)

def first(s:ChipSet, n:int)->ChipSet:
    return s.subset(np.concatenate([np.flatnonzero(s.y == k)[:n] for k in range(len(s.classes))]))

def evaluate(sets:dict, test:ChipSet, cfg:dict, seeds, **tags)->list:
    runs = []
    for seed in seeds:
        for name, tr in sets.items():
            res = train_classifier(tr.x, tr.y, len(test.classes), seed=child_seed(seed, 'oracle', name), **cfg)
            m = res.evaluate(test.x, test.y, len(test.classes))
            runs.append(dict(**tags, seed=seed, training_set=name, n_train=len(tr), n_test=len(test), accuracy=m['accuracy'],
                             f1=m['f1'], train_seconds=res.seconds))
            print(tags, seed, name, len(tr), f"{100*m['accuracy']:.1f}", f'{res.seconds:.0f}s', flush=True)
    return runs

def ablated(source:Sensor, target:Sensor, param:str)->Sensor:
    "The target sensor with parameter group `param` taken from the source sensor."
    groups = dict(band=['frequency_ghz'], resolution=['res_range_m', 'res_azimuth_m', 'pixel_spacing_m'], window=['window_alpha'],
                  looks=['looks'], noise=['nesz_db', 'nesz_sd_db'], incidence=['incidence_deg'], polarisation=['polarisation'],
                  export=['export'], calibration=['calibration_sd_db'])
    if param not in groups: raise SystemExit(f"unknown parameter {param!r}; choose from {sorted(groups)} or footprint")
    return dataclasses.replace(target, name=f'{target.name}_{param}_as_source', **{k: getattr(source, k) for k in groups[param]})

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['oracle', 'ablation'])
    ap.add_argument('--preset', default='bench')
    ap.add_argument('--worlds', type=int, nargs='+', default=[100])
    ap.add_argument('--seeds', type=int, default=2)
    ap.add_argument('--sizes', type=int, nargs='+', default=[35, 70, 140, 280, 560])
    ap.add_argument('--n-test', type=int, default=100)
    ap.add_argument('--n-source', type=int, default=140, help='source chips per class (the paper: 129–165)')
    ap.add_argument('--params', default='none,footprint,band,resolution,window,looks,noise,incidence,polarisation,export,calibration')
    ap.add_argument('--epochs', type=int, default=None)
    ap.add_argument('--chip-px', type=int, default=None, help="chip size (default: the preset's)")
    ap.add_argument('--footprint-ratio', type=float, default=None, help="target/source chip footprint (default: the preset's)")
    ap.add_argument('--n-fresh', type=int, default=190, help='fresh target chips per class for the full ceiling (as many as content)')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--tag', default='')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    assert all(w >= 100 for w in a.worlds), 'validation worlds only (seeds 100+)'
    p = get_preset(a.preset, classifier={} if a.epochs is None else dict(epochs=a.epochs),
                   benchmark={**({} if a.chip_px is None else dict(chip_px=a.chip_px)),
                              **({} if a.footprint_ratio is None else dict(footprint_ratio=a.footprint_ratio))}); b = p['benchmark']
    cfg = {k: p['classifier'][k] for k in ('arch', 'epochs', 'batch_size', 'lr', 'weight_decay', 'normalize')}
    source, target = get_sensor(b['source_sensor']), get_sensor(b['target_sensor'])
    name = f"{'oracle_curve' if a.mode == 'oracle' else 'ablation'}_{a.preset}{'_' + a.tag if a.tag else ''}.json"
    out, runs, t0 = ROOT/'results'/'calibration'/'world'/name, [], time.time()
    def save(extra={}):
        write_json_atomic(out, make_record(f'world_{a.mode}', dict(preset=p, worlds=a.worlds, seeds=a.seeds, n_test_per_class=a.n_test,
                                           n_source_per_class=a.n_source, threads=a.threads, **extra), metrics={}, runs=runs,
                                           timings=dict(total_seconds=time.time() - t0)))
    for w in a.worlds:
        if a.mode == 'oracle':
            W = simulate_world(b, source, target, w, a.n_test, max(max(a.sizes), 35 + a.n_fresh), a.n_source)
            base = first(W['pool'], 35)
            sets = {f'target_{n}': first(W['pool'], n) for n in a.sizes}
            sets |= {'target+twins': concat_chipsets(base, W['twins']), 'target+raw_source': concat_chipsets(base, W['raw']),
                     'target+raw_source_matched': concat_chipsets(base, W['matched']),
                     # the full framework's ceiling at the paper's amounts: target + twins + fresh target scenes (pool chips past the first 35)
                     'target+twins+fresh': concat_chipsets(first(W['pool'], 35 + a.n_fresh), W['twins'])}
            runs += evaluate(sets, W['test'], cfg, range(a.seeds), world_seed=w); save(dict(sizes=a.sizes))
        else:
            for param in a.params.split(','):
                bb, tgt = dict(b), target
                if param == 'footprint': bb['footprint_ratio'] = 1.0
                elif param != 'none': tgt = ablated(source, target, param)
                W = simulate_world(bb, source, tgt, w, a.n_test, 35, a.n_source)
                sets = {'target_only': W['pool'], 'target+raw_source': concat_chipsets(W['pool'], W['raw']),
                        'target+raw_source_matched': concat_chipsets(W['pool'], W['matched']), 'target+twins': concat_chipsets(W['pool'], W['twins'])}
                runs += evaluate(sets, W['test'], cfg, range(a.seeds), world_seed=w, param=param); save(dict(params=a.params))
    print('written', out)
