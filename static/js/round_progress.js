// A matching round's page while a worker builds, solves and writes it: poll its status (JSON) and show it;
// reload once the round has finished, so that its results or its reason for failing appear.
(function () {
  var holder = document.getElementById("round-progress-data");
  if (!holder) return;
  var data = JSON.parse(holder.textContent);
  var status = document.getElementById("round-status");
  var delay = 1000;
  function poll() {
    fetch(data.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (progress) {
        if (progress === null) return;
        status.textContent = progress.status_label;
        status.setAttribute("data-status", progress.status);
        if (progress.finished) {
          window.location.reload();
          return;
        }
        delay = Math.min(delay * 1.2, 5000);
        window.setTimeout(poll, delay);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (!data.finished) window.setTimeout(poll, delay);
})();
