// Loads the app; if the package is missing (pkg/ not built yet) or fails to load, says so
// on the page instead of leaving it blank.
import('./app.js').catch((err) => {
  console.error(err);
  const status = document.getElementById('status');
  status.hidden = false;
  status.className = 'status status-error';
  status.textContent = `Could not load the agent package from /pkg/index.js (${err && err.message ? err.message : err}). Build it with: bash scripts/build-pkg.sh`;
  document.getElementById('send').disabled = true;
});
