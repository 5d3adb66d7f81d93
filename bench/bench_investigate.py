"""Why does (or doesn't) generated data help? Training-set variants scored on the *validation* split, never the test split.

    python bench/bench_investigate.py --runs runs/reproduce_bench runs/reproduce_bench2 --out results/stage2/investigate_val.json

For each reproduce run folder, the classifier (the preset's settings) trains on the target chips of the `train` split only
(the `val` chips are held out here, whereas `reproduce` trains on train + val) plus one candidate folder of extra chips,
and is scored on the `val` chips, over several seeds. Candidates: every Stage 2 and baseline folder present in the run,
the raw source chips, and the raw source chips resampled to the target's pixel spacing (`data.match_spacing`, no style
change), which separates the effect of scale from the effect of style; and, per Stage 2 loss configuration, migrated source
plus migrated content together (`ours_<losses>`: the extra data of Table 4's rows).
"""
import argparse, json, time
from pathlib import Path
import numpy as np
import pandas as pd
import torch

from sar_xsensor.core import get_preset, make_record, write_json_atomic, child_seed
from sar_xsensor.data import load_chips, concat_chipsets, match_spacing, ChipSet
from sar_xsensor.classify import train_classifier


def candidates(run:Path)->dict:
    "Extra-chip folders of a reproduce run, by name."
    c = {'raw_source': run/'data'/'source'}
    for what in ('source', 'content'):
        for f in sorted((run/'stage2'/what).glob('*')) if (run/'stage2'/what).is_dir() else []:
            if (f/'manifest.csv').exists(): c[f'migrated_{what}_{f.name}'] = f
    if (run/'stage1'/'content'/'manifest.csv').exists(): c['generated_content_unmigrated'] = run/'stage1'/'content'
    for f in sorted((run/'baselines').glob('*')) if (run/'baselines').is_dir() else []:
        if (f/'manifest.csv').exists(): c[f'baseline_{f.name}'] = f
    return c


def relabel(s:ChipSet, classes:list)->ChipSet:
    s.y = np.array([classes.index(s.classes[i]) for i in s.y]); s.classes = classes; return s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', nargs='+', required=True); ap.add_argument('--out', default='results/stage2/investigate_val.json')
    ap.add_argument('--preset', default='bench'); ap.add_argument('--seeds', type=int, default=5)
    ap.add_argument('--threads', type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    p = get_preset(a.preset); c = p['classifier']; size = p['benchmark']['chip_px']
    out = Path(a.out); res = json.loads(out.read_text())['metrics'] if out.exists() else {}
    t0 = time.perf_counter()
    for run in map(Path, a.runs):
        split = pd.read_csv(run/'data'/'split.csv')
        classes = sorted(split.cls.unique())
        train = load_chips(None, size, classes, df=split[split.split == 'train'][['path', 'cls']])
        val = load_chips(None, size, classes, df=split[split.split == 'val'][['path', 'cls']])
        tgt_sp = float(pd.read_csv(run/'data'/'target_train'/'manifest.csv').pixel_spacing_m.median())
        extra = {'none': None}
        for name, folder in candidates(run).items():
            extra[name] = relabel(load_chips(folder, size, [k for k in classes if (folder/k).is_dir()]), classes)
        for losses in [k[len('migrated_source_'):] for k in list(extra) if k.startswith('migrated_source_')]:
            if f'migrated_content_{losses}' in extra:   # Table 4's extra data: both Stage 2 outputs of one loss configuration
                extra[f'ours_{losses}'] = concat_chipsets(extra[f'migrated_source_{losses}'], extra[f'migrated_content_{losses}'])
        raw = extra['raw_source']
        extra['raw_source_spacing_matched'] = ChipSet(match_spacing(raw.x, raw.df.pixel_spacing_m.to_numpy(float), tgt_sp, seed=0),
                                                      raw.y, classes, raw.df)
        for name, chips in extra.items():
            key = f'{run.name}/{name}'
            if key in res: continue
            xs = train if chips is None else concat_chipsets(train, chips)
            accs = []
            for s in range(a.seeds):
                r = train_classifier(xs.x, xs.y, len(classes), seed=child_seed(0, 'investigate', s), arch=c['arch'], epochs=c['epochs'],
                                     batch_size=c['batch_size'], lr=c['lr'], weight_decay=c['weight_decay'], normalize=c['normalize'])
                accs.append(r.evaluate(val.x, val.y, len(classes))['accuracy'])
            res[key] = dict(run=run.name, extra=name, n_extra=0 if chips is None else len(chips), n_train=len(train), n_val=len(val),
                            val_accuracy_mean=float(np.mean(accs)), val_accuracy_sd=float(np.std(accs, ddof=1)), val_accuracy=accs)
            print(f"{key:60s} {100*np.mean(accs):5.1f} ± {100*np.std(accs, ddof=1):4.1f}", flush=True)
            write_json_atomic(out, make_record('investigate_val', dict(preset=a.preset, seeds=a.seeds, classifier=c), res, seed=0,
                                               timings=dict(seconds=time.perf_counter() - t0)))


if __name__ == '__main__': main()
