"""Packaging beyond pyproject.toml: the top-level prompts/ and schemas/ folders ship inside the
wheel as pipeline/_data/prompts and pipeline/_data/schemas (package_dir maps them; nothing is
copied in the repository). In a source checkout or an editable install the code reads the
top-level folders directly (pipeline/prompts/_folders.py, pipeline/schemas.py)."""

from setuptools import find_packages, setup

DATA = {"pipeline._data.prompts": "prompts", "pipeline._data.schemas": "schemas"}

setup(
    packages=[*find_packages(include=["pipeline", "pipeline.*"]), *DATA],
    package_dir=DATA,
    package_data={
        "pipeline._data.prompts": ["lock", "*/v*.yaml"],
        "pipeline._data.schemas": ["*.json"],
        "pipeline.prompts": ["*.json"],
    },
)
