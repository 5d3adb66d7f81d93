from configparser import ConfigParser
import setuptools, shlex

# nbdev-style setup.py: metadata from settings.ini; builds with current pip (no pkg_resources); ships only the package.
config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

expected = 'version description keywords author author_email license status min_python audience language'.split()
missing = [o for o in expected if o not in cfg]
if missing: raise SystemExit(f"settings.ini is missing: {missing}")
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
py_versions = '3.10 3.11 3.12 3.13'.split()

requirements = shlex.split(cfg.get('requirements', ''))
dev_requirements = shlex.split(cfg.get('dev_requirements', ''))
min_python = cfg['min_python']
lib_path = cfg['lib_path']

setuptools.setup(
    name=cfg['lib_name'],
    license='Apache-2.0',
    license_files=['LICENSE'],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])],
                 'Intended Audience :: ' + cfg['audience'].title(),
                 'Natural Language :: ' + cfg['language'].title()]
                + ['Programming Language :: Python :: ' + v for v in py_versions[py_versions.index(min_python):]],
    url=cfg['git_url'],
    packages=setuptools.find_packages(include=[lib_path, lib_path + '.*']) + [lib_path + '.specs'],   # specs: data only
    include_package_data=True,
    package_data={lib_path + '.specs': ['*.csv', '*.json'],
                  lib_path: ['models/sar-fm/*.json', 'models/sar-fm/*.md', 'models/sar-fm/*/*.json', 'models/sar-fm/*/*.safetensors']},
    install_requires=requirements,
    extras_require={'dev': dev_requirements},
    dependency_links=cfg.get('dep_links', '').split(),
    python_requires='>=' + min_python,
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f"{cfg.get('lib_path')}={cfg.get('lib_path')}._modidx:d"]},
    version=cfg['version'], description=cfg['description'], keywords=cfg['keywords'],
    author=cfg['author'], author_email=cfg['author_email'],
)
