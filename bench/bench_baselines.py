"""The comparison baselines on the `bench` benchmark: training time per epoch, translation speed, realism, content kept.

    python bench/bench_baselines.py --work runs/bench_baselines --out results/baselines/baselines_bench.json

1. simulate the bench benchmark (or reuse --bench) and split the target sensor's chips (seed 0, per class) into train /
   val / test; the baselines see target *train* chips only;
2. each method trains (GANs, the preset's `baselines` settings) and translates every source chip (`translate_dir`,
   cached and resumable in --work);
3. per method: seconds per training epoch (from the run's history), translation chips/s (timed separately on
   --speed-chips chips), realism against the target *val* chips (ENL, dB-histogram W1, spectrum distance), and the
   accuracy of classifiers trained on target train chips on the translated chips (does the class content survive?);
4. a sample grid: source, each method, a real target chip, per class.
"""
import argparse, json, resource, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch
import matplotlib; matplotlib.use('Agg')
import matplotlib.pyplot as plt
from PIL import Image

from sar_xsensor.core import get_preset, make_record, write_json_atomic, child_seed, atomic_path
from sar_xsensor.simulate import build_benchmark
from sar_xsensor.sensors import get_sensor, display_to_intensity
from sar_xsensor.data import scan_chips, load_chips, split_target
from sar_xsensor.classify import train_classifier
from sar_xsensor.sarstats import realism_report
from sar_xsensor.baselines import (BASELINES, GAN_METHODS, GANConfig, translate_dir, make_translator, load_checkpoint,
                                   translate_chips, histogram_match, degrade)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--work', default='runs/bench_baselines'); ap.add_argument('--bench', default='runs/bench_stage1/benchmark')
    ap.add_argument('--out', default='results/baselines/baselines_bench.json'); ap.add_argument('--grid', default='results/baselines/baselines_grid.png')
    ap.add_argument('--curves', default='results/baselines/baselines_curves.png')
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--methods', default=','.join(BASELINES))
    ap.add_argument('--classifier-seeds', type=int, default=3); ap.add_argument('--speed-chips', type=int, default=256)
    ap.add_argument('--threads', type=int, default=1); ap.add_argument('--epochs', type=int, default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    p = get_preset('bench'); b = p['benchmark']; work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    bdir = Path(a.bench)
    if not (bdir/'manifest.csv').exists(): build_benchmark(bdir, b, seed=a.seed, progress=False)
    src_dir = bdir/b['source_sensor']
    tgt_df = scan_chips(bdir/b['target_sensor']); split = split_target(tgt_df, a.seed)
    train_dir = work/'target_train'
    for path, c in zip(tgt_df.path[split == 'train'], tgt_df.cls[split == 'train']):
        (train_dir/c).mkdir(parents=True, exist_ok=True)
        if not (train_dir/c/Path(path).name).exists(): (train_dir/c/Path(path).name).symlink_to(path)
    if not (train_dir/'manifest.csv').exists(): (train_dir/'manifest.csv').symlink_to((bdir/'manifest.csv').resolve())
    tr = load_chips(None, b['chip_px'], df=tgt_df[split == 'train']); val = load_chips(None, b['chip_px'], df=tgt_df[split == 'val'])
    src = load_chips(src_dir, b['chip_px'], tr.classes)
    t_sensor = get_sensor(b['target_sensor'])
    I = lambda x, s: display_to_intensity(np.round(x*255), get_sensor(s))
    c = p['classifier']
    clfs = [train_classifier(tr.x, tr.y, len(tr.classes), seed=child_seed(a.seed, 'baselines', s), arch=c['arch'], epochs=c['epochs'],
                             batch_size=c['batch_size'], lr=c['lr'], weight_decay=c['weight_decay'], normalize=c['normalize'])
            for s in range(a.classifier_seeds)]
    def evaluate(x, y, sensor):
        acc = [clf.evaluate(x, y, len(tr.classes))['accuracy'] for clf in clfs]
        rep = realism_report(I(x, sensor), I(val.x, b['target_sensor']))
        return dict(accuracy_mean=100*float(np.mean(acc)), accuracy_sd=100*float(np.std(acc, ddof=1)) if len(acc) > 1 else 0.,
                    enl=rep['enl_a'], enl_target=rep['enl_b'], w1_db=rep['w1_db_all'], raps_db=rep['raps_distance_db'])
    methods = {'raw_source': evaluate(src.x, src.y, b['source_sensor'])}
    cfg = GANConfig.from_preset(p, epochs=a.epochs)
    speed_x = src.x[:a.speed_chips]
    for m in a.methods.split(','):
        t0 = time.time()
        man = translate_dir(m, src_dir, train_dir, work/m, p, epochs=a.epochs, seed=a.seed, progress=True)
        wall = time.time() - t0
        out = load_chips(work/m, b['chip_px'], tr.classes)
        res = evaluate(out.x, out.y, b['target_sensor'])
        if m in GAN_METHODS:
            hist = json.loads((work/m/'_train'/'curves.json').read_text())['history']
            model = make_translator(m, cfg, a.seed); load_checkpoint(model, work/m/'_train'); model.eval()
            t1 = time.time(); translate_chips(model, speed_x, 64); dt = time.time() - t1
            res.update(epochs=len(hist), seconds_per_epoch=float(np.mean([h['seconds'] for h in hist])),
                       steps_per_epoch=hist[0]['steps'], train_minutes=float(sum(h['seconds'] for h in hist))/60,
                       n_params=int(sum(q.numel() for q in model.nets.parameters())))
        else:
            t1 = time.time()
            if m == 'histmatch': histogram_match(speed_x, tr.x, b['source_sensor'], b['target_sensor'])
            else: degrade(speed_x, b['source_sensor'], b['target_sensor'], src.df.pixel_spacing_m.to_numpy()[:len(speed_x)],
                          float(tr.df.pixel_spacing_m.median()))
            dt = time.time() - t1
        res.update(translate_chips_per_s=len(speed_x)/dt, n_translated=len(man), wall_minutes_this_call=wall/60)
        methods[m] = res
        print(m, {k: round(v, 3) if isinstance(v, float) else v for k, v in res.items()}, flush=True)
    # sample grid
    names = ['source'] + a.methods.split(',') + ['target']
    fig, axes = plt.subplots(len(names), len(tr.classes), figsize=(1.5*len(tr.classes), 1.5*len(names)))
    for j, cls in enumerate(tr.classes):
        sp = src.df[src.df.cls == cls].path.iloc[0]; stem = Path(sp).stem
        paths = [sp] + [work/m/cls/f'{stem}.png' for m in a.methods.split(',')] + [tr.df[tr.df.cls == cls].path.iloc[0]]
        for i, q in enumerate(paths):
            ax = axes[i, j]; ax.imshow(np.asarray(Image.open(q)), cmap='gray', vmin=0, vmax=255); ax.set_xticks([]); ax.set_yticks([])
            if j == 0: ax.set_ylabel(names[i], fontsize=8)
        axes[0, j].set_title(cls, fontsize=8)
    plt.tight_layout()
    with atomic_path(a.grid) as tmp: fig.savefig(tmp, format='png', dpi=80)
    # loss curves of the GANs, one panel per method
    import seaborn as sns
    hist = [dict(method=m, epoch=h['epoch'], loss=k, value=v) for m in a.methods.split(',') if m in GAN_METHODS
            for h in json.loads((work/m/'_train'/'curves.json').read_text())['history']
            for k, v in h.items() if k not in ('epoch', 'seconds', 'steps', 'lr')]
    if hist:
        g = sns.relplot(pd.DataFrame(hist), x='epoch', y='value', hue='loss', col='method', kind='line', marker='o', height=2.6,
                        facet_kws=dict(sharey=False))
        g.set(yscale='log')
        with atomic_path(a.curves) as tmp: g.figure.savefig(tmp, format='png', dpi=80, bbox_inches='tight')
    rec = make_record('baselines_bench', dict(preset='bench', gan=cfg.__dict__, classifier=c, classifier_seeds=a.classifier_seeds,
                                               threads=a.threads, n_source=len(src), n_target_train=len(tr), n_target_val=len(val),
                                               speed_chips=len(speed_x)),
                      dict(methods=methods), seed=a.seed, peak_rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1e6)
    write_json_atomic(a.out, rec)
    print('wrote', a.out)


if __name__ == '__main__':
    main()
