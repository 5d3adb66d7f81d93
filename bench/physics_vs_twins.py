"""Issue 16's G3 physics criteria on finished run folders: the ENL, dB-histogram W1 and spectrum distance of every
translation of a world's source chips against its own twins, each beside the raw spacing-matched chips' (G3 asks ENL
within 15 % of the twins' and W1 and spectrum distance at most 0.5x the raw chips').

    OMP_NUM_THREADS=1 python bench/physics_vs_twins.py runs/bench_final --out results/bench_instrument/physics_vs_twins.json
    OMP_NUM_THREADS=1 python bench/physics_vs_twins.py runs/levers --out results/stage2/physics_levers.json
    OMP_NUM_THREADS=1 python bench/physics_vs_twins.py runs/levers100 runs/levers101 --out results/stage2/physics_combo.json

It reads every `world<k>/` of the run folders (world names must not repeat): `data/source_matched` (the reference), `stage2/source/<losses>` and
`baselines/<method>` of a `reproduce` run, and `levers/<lever>/chips` of `bench/stage2_levers.py` (finished levers only). Every chip set is
read alike: its 8-bit export through its sensor's display mapping (the twins' and the translations' through the target
sensor's, the raw chips' through the source sensor's), as the fidelity table does. Reporting only: nothing is tuned on
the test worlds' numbers.
"""
import argparse, time
from pathlib import Path

from sar_xsensor.core import make_record, write_json_atomic
from sar_xsensor.data import scan_chips, manifest_sensor
from sar_xsensor.sarstats import enl, db_histogram_distances, raps_distance
from sar_xsensor.experiments import translated_folders, _display_intensity as intensities

RAW = 'raw source, spacing matched (no style)'    # the reference row, named as `experiments.translated_folders` names it


def chip_sets(wdir:Path)->dict:
    "{label: folder} of the translations in world folder `wdir`, named as in the fidelity table, the raw spacing-matched chips first."
    sets = translated_folders(wdir, dict(source_in=wdir/'data'/'source_matched'),
                              [f'source/{p.name}' for p in sorted((wdir/'stage2'/'source').glob('*'))],
                              [p.name for p in sorted((wdir/'baselines').glob('*'))])
    sets |= {f'lever {p.parent.name}': p for p in sorted((wdir/'levers').glob('*/chips')) if (p.parent/'lever.json').exists()}   # finished levers only
    if (wdir/'levers'/'set_histogram'/'lever.json').exists(): sets['lever set_histogram'] = wdir/'levers'/'_histmatch'   # that lever's shared folder
    return {k: v for k, v in sets.items() if (v/'manifest.csv').exists()}


def world_physics(wdir:Path)->dict:
    "Per chip set of one world: ENL ratio to the twins, W1 and spectrum distance to them, and both as multiples of the raw chips'."
    tw = scan_chips(wdir/'data'/'twins')
    target = manifest_sensor(tw, None, 'target', wdir/'data'/'twins')
    tw = tw.assign(key=[f'{c}/{Path(p).stem}' for p, c in zip(tw.path, tw.cls)]).set_index('key')
    rows = {'twins': dict(n=len(tw), enl=float(enl(intensities(tw, target))))}
    for label, folder in chip_sets(wdir).items():
        df = scan_chips(folder)
        df = df.assign(key=[f'{c}/{Path(p).stem}' for p, c in zip(df.path, df.cls)])
        df = df[df.key.isin(tw.index)]
        if not len(df): continue
        A, B = intensities(df, manifest_sensor(df, target)), intensities(tw.loc[df.key], target)
        enl_a, enl_b = enl(A), enl(B)
        rows[label] = dict(n=len(df), enl=float(enl_a), enl_ratio=float(enl_a/enl_b),
                           w1_db=db_histogram_distances(A, B)['w1_db'], spectrum_db=raps_distance(A, B))
        print(f"{wdir.name} {label:34s} ENL ratio {rows[label]['enl_ratio']:.2f}  W1 {rows[label]['w1_db']:.2f} dB  "
              f"spectrum {rows[label]['spectrum_db']:.2f} dB", flush=True)
    raw = rows.get(RAW)
    for r in rows.values():
        if raw and 'w1_db' in r: r.update(w1_vs_raw=r['w1_db']/raw['w1_db'], spectrum_vs_raw=r['spectrum_db']/raw['spectrum_db'])
    return rows


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('run', nargs='+'); ap.add_argument('--out', required=True)
    a = ap.parse_args()
    t0, worlds = time.time(), {}
    for run in map(Path, a.run):
        found = sorted(p.parent.parent for p in run.glob('world*/data/twins'))
        if not found: raise SystemExit(f"{run}: no world<k>/data/twins folder: not a finished `reproduce` run folder")
        for wdir in found:
            if wdir.name in worlds: raise SystemExit(f"{wdir}: {wdir.name} is also in {worlds[wdir.name].parent}")
            worlds[wdir.name] = wdir
    metrics = {name: world_physics(wdir) for name, wdir in worlds.items()}
    write_json_atomic(Path(a.out), make_record('physics_vs_twins', dict(run=a.run[0] if len(a.run) == 1 else a.run, enl_window=8,
                      reading='8-bit exports through their sensors\' display mappings'), metrics, timings=dict(total_seconds=time.time() - t0)))
    print(f"wrote {a.out}")
