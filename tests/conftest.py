import os
os.environ.setdefault("MPLBACKEND", "Agg")

def pytest_addoption(parser):
    parser.addoption("--nb-flags", default="", help="nbdev test flags to run in notebooks (e.g. 'slow gpu'), like nbdev_test --flags")
    parser.addoption("--preset", default="tiny", help="preset passed to the notebooks by papermill (tiny in CI, paper on a GPU box)")
