"""Stage 2 on the `bench` benchmark: does the style move, does the content stay, what do L_sp and L_f add, how fast.

    python bench/bench_stage2.py --work runs/bench_stage2 --out results/stage2/stage2_bench.json

1. simulate the bench benchmark (or reuse --bench), split the target sensor's chips (seeded, per class) into
   train / val / test; style references are drawn from target *train* chips only; realism is measured against target
   *val* chips; the test split is not touched;
2. migrate `--n-per-class` source chips per class with the full objective and with L_sp / L_f switched off (Table 4's
   columns, plus neither);
3. per configuration: ENL, dB-histogram W1 and spectrum distance to the target val chips (raw source for reference);
   accuracy of classifiers trained on target train chips on migrated vs raw source chips; SSIM between despeckled content
   and migrated chips;
4. speed: the batched loop vs one chip at a time at identical settings on the same chips; peak memory (RSS).
Outputs are cached per configuration in --work (migrate_dir resumes).
"""
import argparse, json, resource, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch
from skimage.metrics import structural_similarity
from scipy import ndimage

from sar_xsensor.core import get_preset, make_record, write_json_atomic, child_seed
from sar_xsensor.simulate import build_benchmark
from sar_xsensor.sensors import get_sensor, display_to_intensity
from sar_xsensor.data import scan_chips, load_chips, split_target, match_spacing
from sar_xsensor.experiments import link_chips
from sar_xsensor.classify import train_classifier
from sar_xsensor.sarstats import realism_report
from sar_xsensor.losses import MigrationWeights
from sar_xsensor.migrate import migrate_dir, migrate_batch, MigrationConfig
from sar_xsensor.mmdit import load_pipeline

CONFIG_NAMES = ('full', 'no_speckle', 'no_freq', 'neither')

def loss_configs(w_speckle:float|None=None, w_freq:float|None=None)->dict:
    "Table 4's loss configurations; the physics weights default to the paper's (MigrationWeights) unless given."
    full = MigrationWeights(**{k: v for k, v in dict(speckle=w_speckle, freq=w_freq).items() if v is not None})
    return {'full': full, 'no_speckle': MigrationWeights(speckle=0, freq=full.freq), 'no_freq': MigrationWeights(speckle=full.speckle, freq=0),
            'neither': MigrationWeights(speckle=0, freq=0)}


def despeckled_ssim(a:np.ndarray, b:np.ndarray, sigma:float=2.0)->float:
    "Mean SSIM between Gaussian-smoothed (σ px) chips in [0, 1]: structure, not speckle."
    return float(np.mean([structural_similarity(ndimage.gaussian_filter(x, sigma), ndimage.gaussian_filter(y, sigma), data_range=1.0)
                          for x, y in zip(a, b)]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--work', default='runs/bench_stage2'); ap.add_argument('--bench', default='runs/bench_stage1/benchmark')
    ap.add_argument('--out', default='results/stage2/stage2_bench.json'); ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--n-per-class', type=int, default=10); ap.add_argument('--steps', type=int, default=200)
    ap.add_argument('--batch', type=int, default=35); ap.add_argument('--configs', default=','.join(CONFIG_NAMES))
    ap.add_argument('--classifier-seeds', type=int, default=3); ap.add_argument('--speed-chips', type=int, default=16)
    ap.add_argument('--speed-steps', type=int, default=20); ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--lr', type=float, default=0.05); ap.add_argument('--layers', default=None, help='comma-separated layer indices')
    ap.add_argument('--tag', default='', help='suffix of the output folders (for variants of the same configurations)')
    ap.add_argument('--keep-scale', action='store_true', help="migrate at the source chips' own pixel spacing (the behaviour before resampling)")
    ap.add_argument('--w-speckle', type=float, default=None, help="L_sp weight (default: the paper's 0.1)")
    ap.add_argument('--w-freq', type=float, default=None, help="L_f weight (default: the paper's 0.1)")
    ap.add_argument('--freq-kind', default='log_magnitude', help="spectrum of L_f: log_magnitude or radial_log_power")
    a = ap.parse_args()
    CONFIGS = loss_configs(a.w_speckle, a.w_freq)
    torch.set_num_threads(a.threads)
    p = get_preset('bench'); bench = p['benchmark']; work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    bdir = Path(a.bench)
    if not (bdir/'manifest.csv').exists(): build_benchmark(bdir, bench, seed=a.seed, progress=False)
    src_df, tgt_df = scan_chips(bdir/bench['source_sensor']), scan_chips(bdir/bench['target_sensor'])
    split = split_target(tgt_df, a.seed)
    # the content: n per class of the source chips, as a folder (symlinks + the benchmark manifest, which carries sensor
    # and pixel spacing) so that migrate_dir can resume and resample the content to the target's pixel spacing
    pick = pd.concat([g.sample(min(a.n_per_class, len(g)), random_state=a.seed) for _, g in src_df.groupby('cls')])
    style_dir, content_dir = work/'style_pool', work/'content'
    link_chips(tgt_df[split == 'train'], style_dir, bdir/'manifest.csv'); link_chips(pick, content_dir, bdir/'manifest.csv')
    tgt_sensor = get_sensor(bench['target_sensor'])
    val = load_chips(None, bench['chip_px'], df=tgt_df[split == 'val']); tr = load_chips(None, bench['chip_px'], df=tgt_df[split == 'train'])
    raw = load_chips(content_dir, bench['chip_px'], classes=tr.classes)
    I = lambda x: display_to_intensity(np.round(x*255), tgt_sensor)
    clfs = []
    c = p['classifier']
    for s in range(a.classifier_seeds):
        clfs.append(train_classifier(tr.x, tr.y, len(tr.classes), seed=child_seed(a.seed, 'stage2', s), arch=c['arch'], epochs=c['epochs'],
                                     batch_size=c['batch_size'], lr=c['lr'], weight_decay=c['weight_decay'], normalize=c['normalize']))
    def evaluate(cs):
        acc = [clf.evaluate(cs.x, cs.y, len(tr.classes))['accuracy'] for clf in clfs]
        rep = realism_report(I(cs.x), I(val.x))
        return dict(accuracy_mean=float(np.mean(acc)), accuracy_sd=float(np.std(acc, ddof=1)) if len(acc) > 1 else 0.,
                    enl=rep['enl_a'], enl_target=rep['enl_b'], enl_ratio=rep['enl_ratio'], w1_db=rep['w1_db_all'],
                    raps_distance_db=rep.get('raps_distance_db'))
    results = {'raw_source': evaluate(raw)}
    if not a.keep_scale:        # scale alone, no style change: separates the effect of resampling from that of migration
        matched = load_chips(content_dir, bench['chip_px'], classes=tr.classes)
        matched.x = match_spacing(raw.x, raw.df.pixel_spacing_m.to_numpy(float), float(tgt_df.pixel_spacing_m[split == 'train'].median()))
        results['raw_source_spacing_matched'] = evaluate(matched)
    print('raw', results['raw_source'], flush=True)
    timings = {}
    for name in a.configs.split(','):
        cfg = MigrationConfig(steps=a.steps, lr=a.lr, weights=CONFIGS[name], layers=[int(i) for i in a.layers.split(',')] if a.layers else None,
                              match_spacing=not a.keep_scale, freq_kind=a.freq_kind, batch_size=a.batch)
        t0 = time.perf_counter()
        migrate_dir(content_dir, style_dir, work/(name + a.tag), bench['target_sensor'], cfg=cfg, seed=a.seed, progress=False)
        timings[name] = time.perf_counter() - t0
        mig = load_chips(work/(name + a.tag), bench['chip_px'], classes=tr.classes)
        order = {(c, Path(pth).name): i for i, (pth, c) in enumerate(zip(mig.df.path, mig.df.cls))}
        paired = np.stack([mig.x[order[(c, Path(pth).name)]] for pth, c in zip(raw.df.path, raw.df.cls)])
        results[name] = {**evaluate(mig), 'ssim_despeckled': despeckled_ssim(raw.x if a.keep_scale else matched.x, paired)}   # vs the content as migrated
        print(name, results[name], flush=True)
    speed = {}
    if a.speed_chips: speed = measure_speed(a, raw, tr, bench)
    rec = make_record('stage2_bench', dict(n_per_class=a.n_per_class, freq_kind=a.freq_kind, steps=a.steps, lr=a.lr, layers=a.layers, batch=a.batch, classifier=c, match_spacing=not a.keep_scale,
                                           classifier_seeds=a.classifier_seeds, configs={k: CONFIGS[k].to_dict() for k in a.configs.split(',')}),
                      dict(results=results, speed=speed), seed=a.seed, timings=timings)
    write_json_atomic(a.out, rec)
    save_figure(Path(a.out).with_name(Path(a.out).stem.replace('bench', 'grid') + '.png'), raw, work/(a.configs.split(',')[0] + a.tag), val, tr.classes, bench['chip_px'])


def measure_speed(a, raw, tr, bench):
    "Batched vs one chip at a time, same chips and settings; peak RSS."
    pipe = load_pipeline(); n = a.speed_chips
    xs, ys = raw.x[:n], tr.x[:n]
    cfg = MigrationConfig(steps=a.speed_steps)
    t0 = time.perf_counter(); migrate_batch(pipe, xs, ys, bench['target_sensor'], cfg); batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(n): migrate_batch(pipe, xs[i:i + 1], ys[i:i + 1], bench['target_sensor'], cfg)
    single = time.perf_counter() - t0
    speed = dict(chips=n, steps=a.speed_steps, batched_chips_per_s=n/batched, single_chips_per_s=n/single, speedup=single/batched,
                 peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20)
    print(speed, flush=True)
    return speed


def save_figure(path, raw, mig_dir, target, classes, size):
    "Fig. 7-style rows per class: source, migrated (full objective), a target val chip."
    import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    mig = load_chips(mig_dir, size, classes=classes)
    order = {(c, Path(pth).name): i for i, (pth, c) in enumerate(zip(mig.df.path, mig.df.cls))}
    fig, axs = plt.subplots(3, len(classes), figsize=(1.3*len(classes), 4.2))
    for j, c in enumerate(classes):
        i = np.flatnonzero(raw.y == j)[0]
        for r, img in enumerate((raw.x[i], mig.x[order[(raw.df.cls[i], Path(raw.df.path[i]).name)]], target.x[np.flatnonzero(target.y == j)[0]])):
            axs[r, j].imshow(img, cmap='gray', vmin=0, vmax=1); axs[r, j].set_xticks([]); axs[r, j].set_yticks([])
        axs[0, j].set_title(c, fontsize=8)
    for r, lab in enumerate(('source', 'migrated', 'target')): axs[r, 0].set_ylabel(lab, fontsize=8)
    fig.tight_layout(); fig.savefig(path, dpi=80); plt.close(fig)


if __name__ == '__main__':
    main()
