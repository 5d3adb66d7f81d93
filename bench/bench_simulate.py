"""Simulator throughput benchmark (not a test): chips/s on ONE core, written to results/simulator/simulate_throughput.json.

Run: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/bench_simulate.py
"""
import os
for k in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(k, '1')
import time
from pathlib import Path

import torch
torch.set_num_threads(1)

from sar_xsensor.core import CLASSES, get_preset, make_record, write_json_atomic
from sar_xsensor.simulate import simulate_chips
from sar_xsensor.sensors import get_sensor

def chips_per_s(sensor, footprint, chip_px, n=512, jitter=0.0, repeats=3):
    labels = [CLASSES[i % len(CLASSES)] for i in range(n)]
    simulate_chips(labels[:16], sensor, footprint, chip_px, seed=0, footprint_jitter=jitter)   # warm-up
    best = 0.
    for r in range(repeats):
        t0 = time.perf_counter(); simulate_chips(labels, sensor, footprint, chip_px, seed=r, footprint_jitter=jitter)
        best = max(best, n/(time.perf_counter() - t0))
    return best

if __name__ == '__main__':
    bench = get_preset('bench')['benchmark']
    rows = []
    for s in ('tsx_like', 'fc1_like'):
        sp = get_sensor(s).pixel_spacing_m
        rows.append(dict(case='64x64 chip at native spacing', sensor=s, native_px=64, chip_px=64,
                         chips_per_s=chips_per_s(s, 64*sp, 64)))
        fp = bench['source_footprint_m']*(1 if s == bench['source_sensor'] else bench['footprint_ratio'])
        rows.append(dict(case='bench convention (render native, crop, resample to 64)', sensor=s,
                         native_px=int(fp*(1 + bench['footprint_jitter'])/sp), chip_px=64,
                         chips_per_s=chips_per_s(s, fp, 64, jitter=bench['footprint_jitter'])))
    for r in rows: print(f"{r['sensor']:9s} {r['case']:55s} native {r['native_px']:4d} px: {r['chips_per_s']:7.1f} chips/s")
    rec = make_record('simulate_throughput', dict(threads=1, chips_per_run=512, repeats='best of 3'), dict(rows=rows))
    write_json_atomic(Path(__file__).resolve().parents[1]/'results'/'simulator/simulate_throughput.json', rec)
