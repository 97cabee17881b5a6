"""In a real browser: the regulator's charts carry titles, units and unclipped axes, name cities in the page's
language, and mark the month still running as "so far" instead of plotting it as a drop."""
from decimal import Decimal

from sqlalchemy import select

from marketplace.clock import today_cst
from marketplace.models import GenerationRecord, User
from marketplace.services.demo import DEMO_PASSWORD
from tests.web.browser.test_onboarding import log_in

OPTIONS = """() => window.dashboardCharts.map(chart => {
  const o = chart.getOption();
  return {title: o.title[0].text, containLabel: o.grid[0].containLabel, yName: o.yAxis[0].name,
          x: o.xAxis[0].data, dashed: o.series.filter(s => s.lineStyle && s.lineStyle.type === "dashed").length,
          faded: o.series.filter(s => s.type === "bar").flatMap(s => s.data)
                  .filter(d => d && typeof d === "object" && d.label && d.label.show).length};
})"""


def test_the_dashboard_charts_have_titles_units_names_and_a_marked_partial_month(page, site_url, demo, db):
    # the month still running has its first declaration (a few days' worth)
    record = db.session.scalar(select(GenerationRecord).order_by(GenerationRecord.month.desc()))
    db.session.add(GenerationRecord(site_id=record.site_id, material_id=record.material_id,
                                    month=today_cst().replace(day=1), tonnes_generated=Decimal("120")))
    db.session.commit()
    regulator = db.session.scalar(select(User).where(User.email == "regulator@example.com"))
    log_in(page, site_url, regulator.email, DEMO_PASSWORD)
    page.goto(f"{site_url}/lang/zh?next=/subsidies/dashboard")
    page.wait_for_function("window.dashboardCharts && window.dashboardCharts.length == 2")
    months, cities = page.evaluate(OPTIONS)
    data = page.evaluate("JSON.parse(document.getElementById('chart-data').textContent)")
    for chart in (months, cities):
        assert chart["title"] and chart["containLabel"] is True and chart["yName"]
    assert cities["x"] and all(name.endswith("市") for name in cities["x"]), cities["x"]  # no pinyin
    assert months["x"] and all(name.endswith("月") for name in months["x"]), months["x"]
    assert data["partial"] is not None and len(data["months"]) == data["partial"] + 1  # today's month is the last
    assert months["dashed"] == 2 and months["faded"] == 1  # two lines go dashed into it, its bar says "so far"
