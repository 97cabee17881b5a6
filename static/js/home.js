// The home page's chart (Apache ECharts, served locally): this year's tonnes by month; the rate against the
// target is beside it in figures. Data and words come as JSON blocks (strict CSP: no inline code).
(function () {
  var box = document.getElementById("home-chart");
  if (!box || !window.echarts) return;
  var data = JSON.parse(document.getElementById("home-chart-data").textContent);
  var text = JSON.parse(document.getElementById("home-chart-text").textContent);
  var colours = { generated: "#9fb8ad", used: "#1f6f5c", platform: "#a35b00", delivered: "#1f6f5c", received: "#1f6f5c" };
  var series = Object.keys(data.series).map(function (key) {
    return { name: text.names[key], type: "bar", data: data.series[key], itemStyle: { color: colours[key] || "#1f6f5c" } };
  });
  var chart = echarts.init(box);
  chart.setOption({
    title: { text: text.title, left: "center", textStyle: { fontSize: 13 } },
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { bottom: 0, data: series.map(function (s) { return s.name; }) },
    grid: { left: 8, right: 8, top: 36, bottom: 36, containLabel: true },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value", name: text.unit, axisLabel: { formatter: function (v) { return v.toLocaleString(); } } },
    series: series
  });
  window.addEventListener("resize", function () { chart.resize(); });
  window.homeChart = chart;
})();
