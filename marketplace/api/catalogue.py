"""The material catalogue: codes, grades, quality parameters, the environmental tax."""
from flask import jsonify
from flask.typing import ResponseReturnValue

from ..schemas.catalogue import MaterialList, MaterialOut, ParameterOut
from ..services import catalogue
from . import bp
from .spec import documented


@bp.get("/materials")
@documented(MaterialList, operation_id="materials")
def material_list() -> ResponseReturnValue:
    """The materials catalogue"""
    return jsonify(MaterialList(items=[MaterialOut(
        code=m.code, name_zh=m.name_zh, name_en=m.name_en, grades=m.grade_codes,
        parameters=[ParameterOut(code=p.code, unit=p.unit, name_zh=p.name_zh, name_en=p.name_en)
                    for p in m.parameters],
        env_tax_yuan_per_t=m.env_tax_yuan_per_t) for m in catalogue.materials()]).dump())
