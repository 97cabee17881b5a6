// The regulator's charts (Apache ECharts, served locally). Every word comes translated in the page's JSON
// blocks; the month still running is drawn dashed and lighter, labelled "so far", instead of as a drop.
// Tooltips render on the canvas ("richText"): ECharts' HTML tooltips carry style attributes, which the
// Content-Security-Policy (style-src 'self') refuses.
(function () {
  if (!window.echarts) return;
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var text = JSON.parse(document.getElementById("chart-text").textContent);
  var grouped = new Intl.NumberFormat(text.locale, { maximumFractionDigits: 0 });
  var partial = data.partial;  // index of the month still running, or null
  var title = function (words) { return { text: words, left: "center", textStyle: { fontSize: 14 } }; };

  // A line series split in two: solid over the months that are over, dashed from the last of them to the
  // month still running.
  function lines(name, values, color) {
    if (partial === null || partial === undefined) {
      return [{ name: name, type: "line", data: values, itemStyle: { color: color } }];
    }
    var done = values.map(function (v, i) { return i < partial ? v : null; });
    var running = values.map(function (v, i) { return i >= partial - 1 && i <= partial ? v : null; });
    return [{ name: name, type: "line", data: done, itemStyle: { color: color } },
            { name: name, type: "line", data: running, itemStyle: { color: color, opacity: 0.5 },
              lineStyle: { type: "dashed", opacity: 0.6 }, tooltip: { show: false } }];
  }
  var bars = data.generated.map(function (v, i) {
    return i === partial ? { value: v, itemStyle: { opacity: 0.45 },
                             label: { show: true, position: "top", formatter: text.so_far } } : v;
  });

  var months = echarts.init(document.getElementById("chart-months"));
  months.setOption({
    title: title(text.months_title),
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { data: [text.generated, text.used, text.platform], bottom: 0 },
    grid: { containLabel: true, left: 8, right: 16, top: 48, bottom: 36 },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value", name: text.tonnes_unit, axisLabel: { formatter: function (v) { return grouped.format(v); } } },
    series: [{ name: text.generated, type: "bar", data: bars, itemStyle: { color: "#9fb8ad" } }]
      .concat(lines(text.used, data.used, "#1f6f5c"), lines(text.platform, data.platform, "#a35b00"))
  });
  var cities = echarts.init(document.getElementById("chart-cities"));
  cities.setOption({
    title: title(text.cities_title),
    tooltip: { trigger: "axis", renderMode: "richText" },
    grid: { containLabel: true, left: 8, right: 16, top: 48, bottom: 8 },
    xAxis: { type: "category", data: data.cities, axisLabel: { interval: 0 } },
    yAxis: { type: "value", max: 100, name: text.percent_unit, axisLabel: { formatter: "{value}%" } },
    series: [{ name: text.rate, type: "bar", data: data.city_rates, itemStyle: { color: "#1f6f5c" },
               markLine: { symbol: "none", data: [{ yAxis: text.target_value, name: text.target }],
                           lineStyle: { color: "#a8201a", type: "dashed" }, label: { formatter: text.target + " {c}%" } } }]
  });
  window.addEventListener("resize", function () { months.resize(); cities.resize(); });
  window.dashboardCharts = [months, cities];
})();
