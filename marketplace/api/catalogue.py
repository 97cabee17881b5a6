"""The material catalogue: codes, grades, quality parameters, the environmental tax."""
from flask import jsonify

from ..services import catalogue
from . import bp


@bp.get("/materials")
def material_list():
    return jsonify({"items": [{
        "code": m.code, "name_zh": m.name_zh, "name_en": m.name_en, "grades": m.grade_codes,
        "parameters": [{"code": p.code, "unit": p.unit, "name_zh": p.name_zh, "name_en": p.name_en}
                       for p in m.parameters],
        "env_tax_yuan_per_t": f"{m.env_tax_yuan_per_t:.2f}"} for m in catalogue.materials()]})
