"""Seasonal rounds (issue #14): a round over a horizon of months."""
from flask import g, jsonify
from flask.typing import ResponseReturnValue

from ..schemas.common import validate
from ..schemas.matching import RoundOut
from ..schemas.seasonal import SeasonalRoundRequest
from ..services import rounds
from . import bp
from .common import json_body
from .spec import documented


@bp.post("/match-rounds/seasonal")
@documented(RoundOut, 403, 409, 422, status=202, json=SeasonalRoundRequest, operation_id="create_seasonal_round")
def create_seasonal_round() -> ResponseReturnValue:
    """Queue a seasonal round over `horizon_months` months from `horizon_start`: listings offer or take their
    monthly profiles, yards and silos carry stock, and each proposal carries its delivery schedule by month.
    Answers 202; GET /match-rounds/{round_id} follows it to "done"."""
    body = validate(SeasonalRoundRequest, json_body())  # unknown fields are refused by name
    round_ = rounds.start_seasonal_round(g.api_user, body.horizon_start, body.horizon_months,
                                         body.supply_listing_ids, body.demand_listing_ids)
    return jsonify(rounds.round_out(round_).dump()), 202
