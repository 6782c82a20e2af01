"""Placeholder; replaced by the simulator."""

from flask import Blueprint

bp = Blueprint("simulator", __name__)
