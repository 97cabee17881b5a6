// The regulator's seasonal desk (Apache ECharts, served locally); data from JSON blocks, never from the page's
// code. Tooltips render on the canvas ("richText"): HTML tooltips carry style attributes the CSP refuses.
(function () {
  if (!window.echarts) return;
  var data = JSON.parse(document.getElementById("seasonal-data").textContent);
  var text = JSON.parse(document.getElementById("seasonal-text").textContent);
  var tip = { trigger: "axis", renderMode: "richText" };
  var months = echarts.init(document.getElementById("chart-seasonal-months"));
  months.setOption({
    tooltip: tip, legend: { data: [text.generated, text.actual, text.platform, text.planned] },
    xAxis: { type: "category", data: data.months }, yAxis: { type: "value", name: "t" },
    series: [
      { name: text.generated, type: "bar", data: data.generated, itemStyle: { color: "#9fb8ad" } },
      { name: text.actual, type: "line", data: data.actual_used, itemStyle: { color: "#1f6f5c" } },
      { name: text.platform, type: "line", data: data.actual_platform, itemStyle: { color: "#a35b00" } },
      { name: text.planned, type: "line", data: data.planned, lineStyle: { type: "dashed" }, itemStyle: { color: "#3a5da8" } }
    ]
  });
  var rate = echarts.init(document.getElementById("chart-seasonal-rate"));
  rate.setOption({
    tooltip: tip, xAxis: { type: "category", data: [text.without, text.with] },
    yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: [{ name: text.rate, type: "bar", data: [data.rate_without, data.rate_with], itemStyle: { color: "#1f6f5c" },
               label: { show: true, position: "top", formatter: function (p) { return p.value.toFixed(1) + "%"; } },
               markLine: { symbol: "none", data: [{ yAxis: data.target, name: text.target }],
                           lineStyle: { color: "#a8201a", type: "dashed" }, label: { formatter: text.target + " {c}%" } } }]
  });
  var series = [{ name: text.stock, type: "line", data: data.stock_declared, connectNulls: true, itemStyle: { color: "#6b4f2a" } }];
  var legend = [text.stock];
  if (data.stock_planned) {
    series.push({ name: text.stock_planned, type: "line", data: data.stock_planned, lineStyle: { type: "dashed" }, itemStyle: { color: "#3a5da8" } });
    legend.push(text.stock_planned);
  }
  var stock = echarts.init(document.getElementById("chart-seasonal-stock"));
  stock.setOption({ tooltip: tip, legend: { data: legend }, xAxis: { type: "category", data: data.months },
                    yAxis: { type: "value", name: "t" }, series: series });
  window.addEventListener("resize", function () { months.resize(); rate.resize(); stock.resize(); });
  window.seasonalCharts = [months, rate, stock];
})();
