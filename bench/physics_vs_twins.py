"""Issue 16's G3 physics criteria on finished run folders: the ENL, dB-histogram W1 and spectrum distance of every
translation of a world's source chips against its own twins, each beside the raw spacing-matched chips' (G3 asks ENL
within 15 % of the twins' and W1 and spectrum distance at most 0.5x the raw chips').

    OMP_NUM_THREADS=1 python bench/physics_vs_twins.py runs/bench_final --out results/stage2/physics_bench_final.json
    OMP_NUM_THREADS=1 python bench/physics_vs_twins.py runs/levers --out results/stage2/physics_levers.json

It reads every `world<k>/` of the run: `data/source_matched` (the reference), `stage2/source/<losses>` and
`baselines/<method>` of a `reproduce` run, and `levers/<lever>/chips` of `bench/stage2_levers.py` (finished levers only). Every chip set is
read alike: its 8-bit export through its sensor's display mapping (the twins' and the translations' through the target
sensor's, the raw chips' through the source sensor's), as the fidelity table does. Reporting only: nothing is tuned on
the test worlds' numbers.
"""
import argparse, json, time
from pathlib import Path
import numpy as np

from sar_xsensor.core import make_record, write_json_atomic
from sar_xsensor.data import scan_chips, read_chip, manifest_sensor
from sar_xsensor.sensors import get_sensor, display_to_intensity
from sar_xsensor.sarstats import enl, db_histogram_distances, raps_distance
from sar_xsensor.experiments import LABELS


def intensities(paths, sensor)->np.ndarray:
    "Linear intensity of 8-bit chips under `sensor`'s display mapping."
    return np.stack([display_to_intensity(read_chip(p), get_sensor(sensor)) for p in paths])


def chip_sets(wdir:Path)->dict:
    "{label: folder} of the translations in world folder `wdir`, the raw spacing-matched chips first."
    sets = {'raw source, spacing matched': wdir/'data'/'source_matched'}
    sets |= {f'Stage 2 ({p.name})': p for p in sorted((wdir/'stage2'/'source').glob('*')) if p.is_dir()}
    sets |= {LABELS.get(p.name, p.name): p for p in sorted((wdir/'baselines').glob('*')) if p.is_dir()}   # named as in the tables
    sets |= {f'lever {p.parent.name}': p for p in sorted((wdir/'levers').glob('*/chips')) if (p.parent/'lever.json').exists()}   # finished levers only
    if (wdir/'levers'/'set_histogram'/'lever.json').exists(): sets['lever set_histogram'] = wdir/'levers'/'_histmatch'   # that lever's shared folder
    return {k: v for k, v in sets.items() if (v/'manifest.csv').exists()}


def world_physics(wdir:Path)->dict:
    "Per chip set of one world: ENL ratio to the twins, W1 and spectrum distance to them, and both as multiples of the raw chips'."
    tw = scan_chips(wdir/'data'/'twins')
    target = manifest_sensor(tw, None, 'target', wdir/'data'/'twins')
    tw = tw.assign(key=[f'{c}/{Path(p).stem}' for p, c in zip(tw.path, tw.cls)]).set_index('key')
    twins_all = intensities(tw.path, target)
    rows = {'twins': dict(n=len(tw), enl=float(enl(twins_all)))}
    for label, folder in chip_sets(wdir).items():
        df = scan_chips(folder)
        df = df.assign(key=[f'{c}/{Path(p).stem}' for p, c in zip(df.path, df.cls)])
        df = df[df.key.isin(tw.index)]
        if not len(df): continue
        A, B = intensities(df.path, manifest_sensor(df, target)), intensities(tw.loc[df.key].path, target)
        rows[label] = dict(n=len(df), enl=float(enl(A)), enl_ratio=float(enl(A)/enl(B)),
                           w1_db=db_histogram_distances(A, B)['w1_db'], spectrum_db=raps_distance(A, B))
        print(f"{wdir.name} {label:34s} ENL ratio {rows[label]['enl_ratio']:.2f}  W1 {rows[label]['w1_db']:.2f} dB  "
              f"spectrum {rows[label]['spectrum_db']:.2f} dB", flush=True)
    raw = rows.get('raw source, spacing matched')
    for r in rows.values():
        if raw and 'w1_db' in r: r.update(w1_vs_raw=r['w1_db']/raw['w1_db'], spectrum_vs_raw=r['spectrum_db']/raw['spectrum_db'])
    return rows


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('run'); ap.add_argument('--out', required=True)
    a = ap.parse_args()
    t0, run = time.time(), Path(a.run)
    worlds = sorted(run.glob('world*/data/twins'))
    if not worlds: raise SystemExit(f"{run}: no world<k>/data/twins folder: not a finished `reproduce` run folder")
    metrics = {p.parent.parent.name: world_physics(p.parent.parent) for p in worlds}
    write_json_atomic(Path(a.out), make_record('physics_vs_twins', dict(run=str(run), enl_window=8,
                      reading='8-bit exports through their sensors\' display mappings'), metrics, timings=dict(total_seconds=time.time() - t0)))
    print(f"wrote {a.out}")
