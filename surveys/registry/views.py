"""Web views of this feature."""

from flask import Blueprint

bp = Blueprint("registry", __name__)
