// The scheme form's bands: add a row (a copy of the last, emptied, with the next free index in its names)
// or remove one (the last row left is emptied instead). The server renumbers the rows it receives.
(function () {
  var body = document.querySelector("#band-rows tbody");
  var add = document.getElementById("add-band");
  if (!body || !add) return;
  var MAX_ROWS = 20;

  function nextIndex() {
    var highest = -1;
    body.querySelectorAll("input").forEach(function (input) {
      var match = /^bands-(\d+)-/.exec(input.name);
      if (match) highest = Math.max(highest, parseInt(match[1], 10));
    });
    return highest + 1;
  }

  add.addEventListener("click", function () {
    var rows = body.querySelectorAll("tr.band-row");
    if (rows.length >= MAX_ROWS) return;
    var row = rows[rows.length - 1].cloneNode(true);
    var index = nextIndex();
    row.querySelectorAll("input").forEach(function (input) {
      input.name = input.name.replace(/^bands-\d+-/, "bands-" + index + "-");
      input.id = input.name;
      input.value = "";
    });
    body.appendChild(row);
    row.querySelector("input").focus();
  });

  body.addEventListener("click", function (event) {
    var button = event.target.closest("button.remove-band");
    if (!button) return;
    var row = button.closest("tr");
    if (body.querySelectorAll("tr.band-row").length > 1) {
      row.remove();
    } else {
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    }
  });
})();
