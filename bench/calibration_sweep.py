"""Chip-convention sweep used to calibrate the benchmark (not a test); writes results/calibration/calibration_sweep.json.

Each footprint ratio is simulated on its own world (seeds 100+), never the committed bench world (seed 0).
Run: python bench/calibration_sweep.py [--ratios 1.0 1.6 2.5] [--seeds 3] [--epochs N] [--out FILE]
"""
import argparse
from pathlib import Path

from sar_xsensor.calibrate import sweep
from sar_xsensor.core import make_record, write_json_atomic, get_preset

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--ratios', type=float, nargs='+', default=[1.0, 1.6, 2.5])
    ap.add_argument('--seeds', type=int, default=3)
    ap.add_argument('--epochs', type=int, default=None, help="classifier epochs (default: the bench preset's)")
    ap.add_argument('--out', default=str(Path(__file__).resolve().parents[1]/'results'/'calibration/calibration_sweep.json'))
    a = ap.parse_args()
    clf = {} if a.epochs is None else dict(epochs=a.epochs)
    res = sweep('bench', 'footprint_ratio', a.ratios, seeds=range(a.seeds), world_seed=100, classifier=clf)
    rec = make_record('calibration_sweep', dict(preset=get_preset('bench', classifier=clf), knob='footprint_ratio', values=a.ratios,
                                                seeds=a.seeds, world_seed=100), metrics={}, sweep=res)
    write_json_atomic(a.out, rec); print('written', a.out)
