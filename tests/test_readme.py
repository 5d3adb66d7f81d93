"""README.md is generated from nbs/index.ipynb (nbconvert fallback of nbdev_readme, since quarto is not installable offline),
executed so that the headline table shows the committed bench numbers (code inputs hidden). Links to chapters point at the
rendered site, so they work on GitHub and PyPI alike."""
import re, subprocess, sys
from configparser import ConfigParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def site_url() -> str:
    cfg = ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    return f"{cfg['DEFAULT']['doc_host']}{cfg['DEFAULT']['doc_baseurl']}/"

def absolute_links(md: str) -> str:
    "Chapter links `(08_lora.ipynb)` and `(migrate.html)` → the site's page (nbdev's naming: the number prefix dropped)."
    page = lambda name: site_url() + re.sub(r'^\d+[a-zA-Z0-9]*_', '', name.lower()) + '.html'
    md = re.sub(r'\]\(([\w-]+)\.ipynb\)', lambda m: f"]({page(m[1])})", md)
    return re.sub(r'\]\(([\w-]+)\.html\)', lambda m: f"]({page(m[1])})", md)

def render_readme() -> str:
    md = subprocess.run([sys.executable, '-m', 'nbconvert', '--to', 'markdown', '--execute', '--no-input', '--stdout', str(ROOT/'nbs'/'index.ipynb')],
                        capture_output=True, text=True, check=True).stdout
    return absolute_links(md)

def test_chapter_links_are_absolute():
    assert absolute_links('[08_lora](08_lora.ipynb), [Stage 2](migrate.html), [x](04a_calibration.ipynb)') == \
        f'[08_lora]({site_url()}lora.html), [Stage 2]({site_url()}migrate.html), [x]({site_url()}calibration.html)'

def test_readme_matches_index():
    assert (ROOT/'README.md').read_text() == render_readme(), \
        "README.md is out of date: run `python tests/test_readme.py` to regenerate it from nbs/index.ipynb"

if __name__ == '__main__':
    (ROOT/'README.md').write_text(render_readme()); print('README.md regenerated')
