"""Command-line commands of this feature (added to ``hamkor`` by ``surveys.cli``)."""

import click

commands: list[click.Command] = []
