"""Web views of this feature."""

from flask import Blueprint

bp = Blueprint("campaigns", __name__)
