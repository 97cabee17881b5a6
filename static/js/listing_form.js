// Show the quality inputs and grades of the chosen material only.
(function () {
  var material = document.getElementById("material");
  var grade = document.getElementById("grade");
  var data = document.getElementById("grades-data");
  if (!material || !data) return;
  var grades = JSON.parse(data.textContent);
  function update() {
    var code = material.value;
    document.querySelectorAll(".quality-group").forEach(function (group) {
      var on = group.getAttribute("data-material") === code;
      group.hidden = !on;
      group.querySelectorAll("input").forEach(function (input) { input.disabled = !on; });
    });
    var allowed = grades[code] || [];
    Array.prototype.forEach.call(grade.options, function (option) {
      option.hidden = option.value !== "" && allowed.indexOf(option.value) < 0;
    });
    if (grade.value && allowed.indexOf(grade.value) < 0) grade.value = "";
    grade.disabled = allowed.length === 0;
  }
  material.addEventListener("change", update);
  update();
})();
