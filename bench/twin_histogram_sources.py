"""What decides a twin's histogram: how much of it a translation of the source chip can know, and how much is the target
acquisition's own draw (noise floor, calibration) that only the twin has. Reads the validation worlds `stage2_levers.py`
uses (no classifier, no test world).

    python bench/twin_histogram_sources.py --run runs/levers --worlds 100,101 --out results/stage2/twin_histogram_sources.json

For every spacing-matched source chip, the target is its twin's display histogram, as dB quantiles relative to the chip's
99th percentile (the display stretch is per chip, so only relative levels reach the classifier). Ridge regressions,
scored by 5-fold cross-validated R² and quantile error (dB), predict it from:
  - `set`: nothing but the target set's mean (what set-level histogram matching gives every chip),
  - `scene`: what a translation knows: the source chip's own quantiles and the scene's class, incidence, background and
    texture (shared by the chip and its twin),
  - `scene+nesz`, `scene+calibration`, `scene+both`: the same plus the twin acquisition's drawn noise floor and/or
    calibration offset (privileged: the simulator draws them per acquisition).
"""
import argparse, json
from pathlib import Path
import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sar_xsensor.core import get_preset, make_record, write_json_atomic
from sar_xsensor.data import read_chip
from sar_xsensor.sensors import get_sensor, display_to_intensity

QUANTILES = (1, 5, 10, 25, 50, 75, 90, 95)
TEST_WORLDS = tuple(get_preset('bench')['worlds'])   # the frozen test worlds: never read here


def relative_db_quantiles(display:np.ndarray, sensor)->np.ndarray:
    "dB quantiles of a display chip relative to its 99th percentile (what survives the per-chip display stretch)."
    db = 10*np.log10(display_to_intensity(display, sensor))
    return np.percentile(db, QUANTILES) - np.percentile(db, 99)


def world_sensors(wdir:Path)->tuple:
    "The (source, target) sensors of a simulated world, from its own sensor file."
    specs = wdir/'benchmark'/'specs'
    bench = json.loads((specs/'benchmark.json').read_text())
    return tuple(get_sensor(bench[k], [specs/'sensors.json']) for k in ('source_sensor', 'target_sensor'))


def world_table(wdir:Path)->pd.DataFrame:
    "One row per source chip: its own quantiles, the scene, its twin's quantiles and the twin acquisition's draws."
    m = pd.read_csv(wdir/'benchmark'/'manifest.csv')
    s_sensor, t_sensor = world_sensors(wdir)
    src = m[m.domain == 'source'].set_index('id')
    tw = m[m.domain == 'twin'].set_index('twin_of')
    rows = []
    for i, r in src.iterrows():
        t = tw.loc[i]
        rows.append(dict(id=i, cls=r.cls, incidence_deg=r.incidence_deg, background=r.background, texture_nu=r.texture_nu,
                         twin_nesz_db=t.nesz_db, twin_calibration_db=t.calibration_db,
                         **{f'src_q{q}': v for q, v in zip(QUANTILES, relative_db_quantiles(read_chip(wdir/'data'/'source_matched'/r.cls/f'{i}.png'), s_sensor))},
                         **{f'twin_q{q}': v for q, v in zip(QUANTILES, relative_db_quantiles(read_chip(wdir/'benchmark'/t.path), t_sensor))}))
    return pd.DataFrame(rows)


def features(df:pd.DataFrame, extra:list)->np.ndarray:
    "The `scene` design matrix (one-hot class and background, scaled numbers) plus the `extra` columns."
    cat = OneHotEncoder(sparse_output=False).fit_transform(df[['cls', 'background']])
    num = StandardScaler().fit_transform(df[[f'src_q{q}' for q in QUANTILES] + ['incidence_deg', 'texture_nu'] + extra])
    return np.hstack([cat, num])


def fit_quality(y:np.ndarray, p:np.ndarray, by_quantile:bool=False)->dict:
    "R² (mean over the quantiles) and mean absolute error (dB) of predicted quantiles `p` for the twins' `y` (chips × quantiles)."
    r2 = 1 - ((y - p)**2).sum(0)/((y - y.mean(0))**2).sum(0)
    return dict(r2=float(r2.mean()), mae_db=float(np.abs(y - p).mean()),
                **({'r2_by_quantile': {str(q): float(v) for q, v in zip(QUANTILES, r2)}} if by_quantile else {}))


def score(df:pd.DataFrame, seed:int)->dict:
    "Cross-validated R² (mean over quantiles) and mean absolute quantile error (dB) of each predictor set."
    y = df[[f'twin_q{q}' for q in QUANTILES]].to_numpy()
    cv = KFold(5, shuffle=True, random_state=seed)
    sets = {'scene': [], 'scene+nesz': ['twin_nesz_db'], 'scene+calibration': ['twin_calibration_db'],
            'scene+both': ['twin_nesz_db', 'twin_calibration_db']}
    preds = {'set': np.broadcast_to(y.mean(0), y.shape)}
    for name, extra in sets.items():
        preds[name] = cross_val_predict(RidgeCV(alphas=np.logspace(-3, 3, 13)), features(df, extra), y, cv=cv)
    return {name: fit_quality(y, p, by_quantile=True) for name, p in preds.items()}


# translated folders of a lever run (relative to the world folder), scored as direct predictions of their twins' quantiles
TRANSLATIONS = {'raw source (spacing matched)': 'data/source_matched', 'bench (lr 0.05)': 'levers/bench/chips',
                'lr 0.02': 'levers/lr0.02/chips', 'set_histogram': 'levers/_histmatch', 'style_histogram': 'levers/style_histogram/chips',
                'class_histogram': 'levers/class_histogram/chips', 'oracle_histogram': 'levers/oracle_histogram/chips'}


def translation_scores(wdir:Path, df:pd.DataFrame, sensor)->dict:
    "R² and quantile error (dB) of each translated folder's own chip quantiles against its twins' (no fitting)."
    y = df[[f'twin_q{q}' for q in QUANTILES]].to_numpy()
    return {name: fit_quality(y, np.stack([relative_db_quantiles(read_chip(wdir/rel/c/f'{i}.png'), sensor) for i, c in zip(df.id, df.cls)]))
            for name, rel in TRANSLATIONS.items() if (wdir/rel).is_dir()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--run', default='runs/levers'); ap.add_argument('--worlds', default='100,101')
    ap.add_argument('--out', default='results/stage2/twin_histogram_sources.json')
    a = ap.parse_args()
    worlds = [int(w) for w in a.worlds.split(',')]
    if set(worlds) & set(TEST_WORLDS): ap.error(f"worlds {sorted(set(worlds) & set(TEST_WORLDS))} are test worlds: read validation worlds (≥ 100)")
    out = {}
    for w in worlds:
        wdir = Path(a.run)/f'world{w}'
        if not (wdir/'benchmark'/'manifest.csv').exists(): ap.error(f"{wdir} has no benchmark: run the reproduce command of stage2_levers.py first")
        df = world_table(wdir)
        out[str(w)] = dict(n=len(df), twin_nesz_sd_db=float(df.twin_nesz_db.std()), twin_calibration_sd_db=float(df.twin_calibration_db.std()),
                           predictors=score(df, w), translations=translation_scores(wdir, df, world_sensors(wdir)[1]))
        print(w, {k: round(v['r2'], 3) for k, v in out[str(w)]['predictors'].items()},
              {k: (round(v['r2'], 3), round(v['mae_db'], 2)) for k, v in out[str(w)]['translations'].items()}, flush=True)
    write_json_atomic(Path(a.out), make_record('twin_histogram_sources', dict(run=a.run, worlds=worlds, quantiles=QUANTILES,
                                               target='twin display dB quantiles relative to the 99th percentile', cv='5-fold, RidgeCV'), out, seed=worlds[0]))


if __name__ == '__main__':
    main()
