from flask import Blueprint

bp = Blueprint("regions", __name__)
