// A round's marginal cost curve (Apache ECharts, served locally), from the page's JSON block: for each slice of
// the tonnes matched, the least transport cost per tonne of that slice, drawn as steps over the tonnes.
// Tooltips render on the canvas ("richText"): ECharts' HTML tooltips carry style attributes, which the
// Content-Security-Policy (style-src 'self') refuses.
(function () {
  var holder = document.getElementById("curve-data");
  var box = document.getElementById("curve-chart");
  if (!holder || !box || !window.echarts) return;
  var data = JSON.parse(holder.textContent);
  var points = [];
  data.segments.forEach(function (s) {
    var perTonne = parseFloat(s.cost_yuan_per_t);
    points.push([s.tonnes_from, perTonne], [s.tonnes_to, perTonne]);
  });
  var chart = echarts.init(box);
  chart.setOption({
    title: { text: data.text.title, left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis", renderMode: "richText" },
    grid: { left: 70, right: 30, top: 50, bottom: 60 },
    xAxis: { type: "value", name: data.text.x, nameLocation: "middle", nameGap: 32, min: 0 },
    yAxis: { type: "value", name: data.text.y, nameLocation: "middle", nameGap: 50, min: 0 },
    series: [{ name: data.text.series, type: "line", data: points, showSymbol: false,
               areaStyle: { opacity: 0.15 }, itemStyle: { color: "#a35b00" } }]
  });
  window.addEventListener("resize", function () { chart.resize(); });
  window.roundCurveChart = chart;
})();
