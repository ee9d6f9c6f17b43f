# python: the skrull Python package (pip install ./python, python/README.md)
# and examples/train_gloo.py, which tests/python.sh runs.
EXTRA_DIST += python/pyproject.toml python/README.md \
	python/skrull/__init__.py python/skrull/_lib.py \
	python/skrull/_lengths.py python/skrull/arrow.py python/skrull/torch.py \
	python/tests/conftest.py python/tests/test_core.py \
	python/tests/test_arrow.py python/tests/test_torch.py \
	python/tests/test_example.py examples/train_gloo.py
