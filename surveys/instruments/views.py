"""Web views of this feature."""

from flask import Blueprint

bp = Blueprint("instruments", __name__)
