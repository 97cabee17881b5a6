// The main menu collapses behind a button on a narrow screen (static/css/app.css, < 700 px). Without this
// script the menu simply stays open: nothing is lost, it only takes more room.
(function () {
  "use strict";
  var bar = document.querySelector(".topbar");
  var button = document.getElementById("menu-toggle");
  if (!bar || !button) {
    return;
  }
  bar.classList.add("menu-collapsible");
  button.addEventListener("click", function () {
    var open = bar.classList.toggle("menu-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
