// The regulator's charts (Apache ECharts, served locally).
// Tooltips render on the canvas ("richText"): ECharts' HTML tooltips carry style attributes, which the
// Content-Security-Policy (style-src 'self') refuses.
(function () {
  if (!window.echarts) return;
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var text = JSON.parse(document.getElementById("chart-text").textContent);
  var months = echarts.init(document.getElementById("chart-months"));
  months.setOption({
    tooltip: { trigger: "axis", renderMode: "richText" }, legend: { data: [text.generated, text.used, text.platform] },
    xAxis: { type: "category", data: data.months }, yAxis: { type: "value" },
    series: [
      { name: text.generated, type: "bar", data: data.generated, itemStyle: { color: "#9fb8ad" } },
      { name: text.used, type: "line", data: data.used, itemStyle: { color: "#1f6f5c" } },
      { name: text.platform, type: "line", data: data.platform, itemStyle: { color: "#a35b00" } }
    ]
  });
  var cities = echarts.init(document.getElementById("chart-cities"));
  cities.setOption({
    tooltip: { trigger: "axis", renderMode: "richText" }, xAxis: { type: "category", data: data.cities },
    yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
    series: [{ name: text.rate, type: "bar", data: data.city_rates, itemStyle: { color: "#1f6f5c" },
               markLine: { symbol: "none", data: [{ yAxis: text.target_value, name: text.target }],
                           lineStyle: { color: "#a8201a", type: "dashed" }, label: { formatter: text.target + " {c}%" } } }]
  });
  window.addEventListener("resize", function () { months.resize(); cities.resize(); });
  window.dashboardCharts = [months, cities];
})();
