"""Where in frequency migrated chips differ from the target sensor: ring-averaged, unit-power log spectra (sarstats.raps) of the
target's validation chips, the raw and resampled source chips and migrated folders, as dB differences per ring.

    python bench/bench_spectrum_profile.py --work runs/bench_stage2_spacing --folders full,full_fm28k,full_fm28k_wf10 --out results/stage2/stage2_spectrum_profile.json

Uses the folders that bench/bench_stage2.py wrote (same split and seed: the target's val chips are the reference).
"""
import argparse
from pathlib import Path
import numpy as np

from sar_xsensor.core import get_preset, make_record, write_json_atomic
from sar_xsensor.sensors import get_sensor, display_to_intensity
from sar_xsensor.data import scan_chips, load_chips, split_target, match_spacing
from sar_xsensor.sarstats import raps


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--work', default='runs/bench_stage2_spacing'); ap.add_argument('--bench', default='runs/bench_stage1/benchmark')
    ap.add_argument('--folders', default='full'); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', default='results/stage2/stage2_spectrum_profile.json')
    a = ap.parse_args()
    bench = get_preset('bench')['benchmark']; work = Path(a.work)
    tgt_df = scan_chips(Path(a.bench)/bench['target_sensor']); split = split_target(tgt_df, a.seed)
    val = load_chips(None, bench['chip_px'], df=tgt_df[split == 'val'])
    sensor = get_sensor(bench['target_sensor'])
    def profile(x):
        f, p = raps(display_to_intensity(np.round(x*255), sensor)); return f, 10*np.log10(p/p.sum() + 1e-20)
    freqs, ref = profile(val.x)
    raw = load_chips(work/'content', bench['chip_px'], classes=val.classes)
    sp = raw.df.pixel_spacing_m.to_numpy(float) if 'pixel_spacing_m' in raw.df else np.full(len(raw), get_sensor(bench['source_sensor']).pixel_spacing_m)
    sets = {'raw_source': raw.x, 'raw_source_spacing_matched': match_spacing(raw.x, sp, float(tgt_df.pixel_spacing_m[split == 'train'].median()))}
    sets.update({f: load_chips(work/f, bench['chip_px'], classes=val.classes).x for f in a.folders.split(',')})
    diff = {k: (profile(x)[1] - ref) for k, x in sets.items()}
    bands = {'low (< 0.15)': freqs < 0.15, 'mid (0.15-0.35)': (freqs >= 0.15) & (freqs < 0.35), 'high (>= 0.35)': freqs >= 0.35}
    metrics = dict(freqs=freqs.tolist(), target_db=ref.tolist(), diff_db={k: v.tolist() for k, v in diff.items()},
                   band_mean_diff_db={k: {b: float(v[m].mean()) for b, m in bands.items()} for k, v in diff.items()})
    write_json_atomic(a.out, make_record('stage2_spectrum_profile', vars(a), metrics, seed=a.seed))
    for k, v in metrics['band_mean_diff_db'].items(): print(f"{k:28s}", {b: round(x, 2) for b, x in v.items()})


if __name__ == '__main__':
    main()
