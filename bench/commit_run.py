"""Copy what a `reproduce` run folder records (tables, figures, the run record and every classifier record) into a
folder to commit under results/, without its chips, adapters or checkpoints.
Run: python bench/commit_run.py runs/bench_instrument results/bench_instrument"""
import argparse, shutil
from pathlib import Path

def commit_run(run, dest)->list:
    "Copy tables/, figures/, records/ and world<seed>/records/ of `run` into `dest`; returns the files copied."
    run, dest = Path(run), Path(dest)
    if not (run/'records'/'run.json').exists(): raise SystemExit(f"{run} has no records/run.json: the run has not finished")
    files = [p for sub in ('tables', 'figures', 'records') for p in (run/sub).glob('*') if p.is_file()]
    files += [p for p in run.glob('world*/records/*.json')]
    for p in files:
        (dest/p.relative_to(run)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest/p.relative_to(run))
    return files

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('run'); ap.add_argument('dest')
    a = ap.parse_args()
    print(f"{len(commit_run(a.run, a.dest))} files copied to {a.dest}")
