"README.md is generated from nbs/index.ipynb (nbconvert fallback of nbdev_readme, since quarto is not installable offline),\nexecuted so that the headline table shows the committed bench numbers (code inputs hidden)."
import subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render_readme() -> str:
    return subprocess.run([sys.executable, '-m', 'nbconvert', '--to', 'markdown', '--execute', '--no-input', '--stdout', str(ROOT/'nbs'/'index.ipynb')],
                          capture_output=True, text=True, check=True).stdout

def test_readme_matches_index():
    assert (ROOT/'README.md').read_text() == render_readme(), \
        "README.md is out of date: run `python tests/test_readme.py` to regenerate it from nbs/index.ipynb"

if __name__ == '__main__':
    (ROOT/'README.md').write_text(render_readme()); print('README.md regenerated')
