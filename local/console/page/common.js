// What the console's two pages (console.js, fleet.js) share: the console server's API, the notice
// line and table cells. Everything shown is set with textContent.

export const $ = (id) => document.getElementById(id);

/** A GET (no body) or a JSON POST to the console server; its error message when it answers one. */
export async function api(path, body) {
  const init =
    body === undefined
      ? {}
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
  const response = await fetch(path, init);
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error ?? response.statusText);
  return answer;
}

export function notice(text, isError = false) {
  $('notice').textContent = text;
  $('notice').className = isError ? 'error' : '';
}

export function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}
