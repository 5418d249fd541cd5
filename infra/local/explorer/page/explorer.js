/* global document, window, fetch, URLSearchParams, console */
// The profile explorer page. Every value reaches the page through textContent or an attribute set by
// the DOM API, never as markup: profile ids, categories and search terms come from producers.
'use strict';

const $ = (id) => document.getElementById(id);

/** An element with optional class and text. */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function clear(node) {
  node.replaceChildren();
  return node;
}

const number = new Intl.NumberFormat('en-US');
const percent = (p) => `${(p * 100).toFixed(1)}%`;
const when = (iso) => (iso ? iso.replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC') : '—');

function duration(ms) {
  const minutes = Math.round(ms / 60000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

/** A value of any JSON shape as one line of text. */
function plain(value) {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) return value.map(plain).join(', ');
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${k}: ${plain(v)}`)
      .join(', ');
  }
  return String(value);
}

/** Fill a table with [label, value] rows; `empty` when there are none; `valueClass` styles the values. */
function rows(table, entries, empty, valueClass = '') {
  clear(table);
  if (entries.length === 0) {
    const tr = table.insertRow();
    const td = tr.insertCell();
    td.colSpan = 2;
    td.className = 'muted';
    td.textContent = empty;
    return;
  }
  for (const [label, value] of entries) {
    const tr = table.insertRow();
    tr.appendChild(el('th', '', label));
    tr.appendChild(el('td', valueClass, value));
  }
}

function definitions(list, entries) {
  clear(list);
  for (const [term, value] of entries) {
    const div = el('div');
    div.append(el('dt', '', term), el('dd', '', value));
    list.appendChild(div);
  }
}

function chips(list, values, empty) {
  clear(list);
  if (values.length === 0) list.appendChild(el('li', 'muted', empty));
  for (const value of values) list.appendChild(el('li', 'chip', value));
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) {
    const reason = body.rule ? `${body.field}: ${body.rule}` : body.message || response.statusText;
    throw Object.assign(new Error(reason), { status: response.status });
  }
  return body;
}

function renderScores(score) {
  if (score === 'unscored') {
    definitions($('scores'), [['status', 'unscored: no model has scored this profile yet']]);
    rows($('next-categories'), [], 'none');
    chips($('reasons'), [], 'none');
    return;
  }
  const entries = [['purchase probability', percent(score.propensity)]];
  if (score.churnRisk !== undefined) entries.push(['churn probability', percent(score.churnRisk)]);
  entries.push(['model version', score.modelVersion], ['scored at', when(score.scoredAt)]);
  definitions($('scores'), entries);
  rows(
    $('next-categories'),
    (score.nextCategories || []).map((c) => [c.category, percent(c.probability)]),
    'this model predicts no categories',
  );
  const reasons = clear($('reasons'));
  const explanations = score.explanations || {};
  for (const head of ['purchase', 'churn']) {
    for (const sentence of explanations[head] || []) reasons.appendChild(el('li', head, sentence));
  }
  if (reasons.childElementCount === 0) reasons.appendChild(el('li', 'muted', 'this model gives no reasons'));
}

function renderProfile({ profile, attributes, audiences }) {
  $('profile-title').textContent = profile.profileId;
  definitions($('profile-summary'), [
    ['kind', profile.anonymous ? 'anonymous' : 'identified'],
    ['first seen', when(profile.firstSeenAt)],
    ['latest event', when(profile.lastEventAt)],
    ['staleness', duration(profile.stalenessMs)],
    ['item version', profile.version],
  ]);
  renderScores(profile.score);
  rows(
    $('traits'),
    Object.entries(attributes).map(([name, value]) => [name, plain(value)]),
    'none stored on this item',
    'text',
  );
  rows(
    $('profile-audiences'),
    audiences.map((a) => [a.audienceId, when(a.enteredAt)]),
    'in no audience',
  );
  chips($('recent-products'), profile.recentProducts, 'none');
  chips($('recent-searches'), profile.recentSearches, 'none');
  rows(
    $('categories'),
    profile.categories.map((c) => [c.category, c.affinity.toFixed(3)]),
    'none',
  );
  const { orders, cart, session } = profile;
  rows(
    $('counters'),
    [
      ...Object.entries(profile.counts).map(([type, n]) => [type.replaceAll('_', ' '), number.format(n)]),
      ['orders', number.format(orders.count)],
      ['revenue', orders.revenue.toFixed(2)],
      [
        'average order value',
        orders.averageOrderValue === undefined ? '—' : orders.averageOrderValue.toFixed(2),
      ],
      ['last purchase', when(orders.lastPurchaseAt)],
      ['cart products', number.format(cart.products)],
      ['cart units', number.format(cart.units)],
      ['cart value', cart.value.toFixed(2)],
      ['sessions', number.format(session.count)],
      ['current session', `${session.currentEvents} events, ${session.currentMinutes} min`],
      ['linked anonymous ids', number.format(profile.linkedAnonymousIds.length)],
    ],
    'none',
  );
  rows(
    $('activity'),
    Object.entries(profile.activity).map(([key, value]) => [
      key.replaceAll('_', ' ').replace('.', ' · '),
      value.toFixed(3),
    ]),
    'none',
  );
}

async function showProfile(profileId) {
  const status = $('profile-status');
  $('profile-id').value = profileId;
  status.className = 'muted';
  status.textContent = `Looking up ${profileId}…`;
  try {
    renderProfile(await getJson(`/api/profile/${encodeURIComponent(profileId)}`));
    status.textContent = '';
    status.hidden = true;
    $('profile').hidden = false;
  } catch (error) {
    $('profile').hidden = true;
    status.hidden = false;
    status.className = 'error';
    status.textContent =
      error.status === 404 ? `No profile ${profileId} in the table.` : `Lookup failed: ${error.message}`;
  }
}

function profileLink(profileId, label) {
  const link = el('a', '', label);
  link.href = `/?${new URLSearchParams({ profile: profileId })}`;
  link.addEventListener('click', (event) => {
    event.preventDefault();
    navigate(profileId);
  });
  return link;
}

async function showHistogram() {
  const status = $('histogram-status');
  try {
    const histogram = await getJson('/api/scores/histogram');
    const chart = clear($('histogram'));
    const tallest = Math.max(1, ...histogram.bins.map((b) => b.count));
    for (const bin of histogram.bins) {
      const bar = el('div', 'bar');
      // CSSOM, not a style attribute: allowed by the page's style-src 'self'.
      bar.style.height = `${(100 * bin.count) / tallest}%`;
      bar.title = `${bin.from.toFixed(2)}–${bin.to.toFixed(2)}: ${number.format(bin.count)} profiles`;
      chart.appendChild(bar);
    }
    const versions = Object.keys(histogram.modelVersions);
    status.className = 'muted';
    status.textContent =
      `${number.format(histogram.scored)} scored, ${number.format(histogram.unscored)} unscored` +
      (versions.length > 0 ? ` · model ${versions.join(', ')}` : '');
    const highest = clear($('highest'));
    for (const { profileId, propensity } of histogram.highest) {
      const item = el('li');
      item.append(profileLink(profileId, profileId), el('span', 'muted', ` ${percent(propensity)}`));
      highest.appendChild(item);
    }
    if (histogram.highest.length === 0) highest.appendChild(el('li', 'muted', 'no scored profiles yet'));
  } catch (error) {
    status.className = 'error';
    status.textContent = `Could not read the scores: ${error.message}`;
  }
}

async function showAudiences() {
  const status = $('audiences-status');
  try {
    const sizes = await getJson('/api/audiences');
    status.className = 'muted';
    status.textContent = `${number.format(sizes.inAnyAudience)} of ${number.format(sizes.profiles)} profiles in at least one audience`;
    rows(
      $('audiences'),
      sizes.audiences.map((a) => [a.audienceId, number.format(a.members)]),
      'no profile carries audience membership',
    );
  } catch (error) {
    status.className = 'error';
    status.textContent = `Could not read the audiences: ${error.message}`;
  }
}

function navigate(profileId) {
  window.history.pushState(null, '', `/?${new URLSearchParams({ profile: profileId })}`);
  void showProfile(profileId);
}

function fromLocation() {
  const profileId = new URLSearchParams(window.location.search).get('profile');
  if (profileId) void showProfile(profileId);
}

document.addEventListener('DOMContentLoaded', () => {
  $('lookup').addEventListener('submit', (event) => {
    event.preventDefault();
    const profileId = $('profile-id').value.trim();
    if (profileId) navigate(profileId);
  });
  window.addEventListener('popstate', fromLocation);
  fromLocation();
  Promise.all([showHistogram(), showAudiences()]).catch((error) => console.error(error));
});
