"""Web views of this feature."""

from flask import Blueprint

bp = Blueprint("responses", __name__)
